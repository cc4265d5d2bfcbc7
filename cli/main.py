"""`chaser replay …`, `chaser history export …` and `chaser search-attributes register`:
argument parsing and exit statuses."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import NoReturn

from temporalio.client import Client
from temporalio.service import RPCError

from cli import replay as replaying
from cli.history import export_history
from process_exit import exit_now

# Exit statuses: 0 everything replayed, 1 some history failed, 2 bad usage (argparse's own).
OK, FAILED, USAGE = 0, 1, 2
# The groups of commands (`chaser history export`): their help, and where argparse keeps the
# command given.
GROUPS = {
    "history": ("workflow histories on the server", "history_command"),
    "search-attributes": ("the chases' search attributes", "attributes_command"),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "replay" and not (args.files or args.workflow_ids or args.query):
        parser.error("replay: give history FILEs, --workflow-id or --query")
    if args.command == "replay" and args.files and (args.workflow_ids or args.query):
        parser.error("replay: FILEs and --workflow-id/--query do not mix")
    _configure_logging(args.verbose)
    try:
        result: int = asyncio.run(args.run(args))
    except KeyboardInterrupt:
        return 130
    return result


def run() -> NoReturn:
    """The `chaser` command."""
    exit_now(main())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chaser",
        description="Replay and export chaser histories; register its search attributes.",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also show the SDK's own log of each failure"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    replay = commands.add_parser(
        "replay",
        help="replay histories against the workflow code on disk",
        description=(
            "Replay saved histories (FILE…) or histories fetched from the server "
            "(--workflow-id, --query) against the workflow code on disk. "
            "Exit status 1 when any history does not replay."
        ),
    )
    replay.add_argument("files", nargs="*", type=Path, metavar="FILE", help="saved JSON history")
    replay.add_argument(
        "--workflow-id",
        dest="workflow_ids",
        action="append",
        default=[],
        metavar="ID",
        help="fetch this workflow's history from the server (repeatable)",
    )
    replay.add_argument(
        "--query",
        help="a visibility query, e.g. \"WorkflowType='OrderChase' AND ExecutionStatus='Running'\"",
    )
    replay.add_argument(
        "--progress-every",
        type=int,
        default=25,
        metavar="N",
        help="a progress line on stderr every N histories (0: none; default 25)",
    )
    _runs(replay, _replay)

    groups = {
        group: commands.add_parser(group, help=help).add_subparsers(dest=dest, required=True)
        for group, (help, dest) in GROUPS.items()
    }
    export = groups["history"].add_parser(
        "export",
        help="save a workflow's history as JSON",
        description="Save a workflow's history in the JSON of `temporal workflow show -o json`.",
    )
    export.add_argument("--workflow-id", required=True, metavar="ID")
    export.add_argument("--run-id", metavar="RUN", help="a given run (default: the latest)")
    export.add_argument("-o", "--output", type=Path, metavar="FILE", help="default: stdout")
    _runs(export, _export)

    register = groups["search-attributes"].add_parser(
        "register",
        help="add the ones the namespace lacks (OrderStatus, ChaseStage, ...)",
        description="Add the chases' search attributes that the namespace lacks; "
        "run once per namespace before the first chase (make run and compose do).",
    )
    _runs(register, _register_search_attributes)
    return parser


def _configure_logging(verbose: bool) -> None:
    from log_config import configure_logging
    from settings import Settings

    configure_logging(Settings().log_format, logging.INFO if verbose else logging.WARNING)
    if not verbose:
        # The replay worker logs every failing workflow task with a traceback; the summary
        # already names each failure, once, in one line.
        logging.getLogger("temporalio.worker").setLevel(logging.CRITICAL)


def _runs(
    parser: argparse.ArgumentParser, run: Callable[[argparse.Namespace], Awaitable[int]]
) -> None:
    """A command's last options, those of the Temporal server, and the function it runs."""
    parser.add_argument("--address", help="Temporal frontend (default: TEMPORAL_ADDRESS)")
    parser.add_argument("--namespace", help="Temporal namespace (default: TEMPORAL_NAMESPACE)")
    parser.set_defaults(run=run)


async def _connect(args: argparse.Namespace) -> Client:
    # Settings are read only when a server is needed: replaying files works anywhere.
    from settings import Settings
    from temporal_client import connect

    settings = Settings()
    overrides = {"temporal_address": args.address, "temporal_namespace": args.namespace}
    return await connect(settings.model_copy(update={k: v for k, v in overrides.items() if v}))


async def _replay(args: argparse.Namespace) -> int:
    replayer = replaying.make_replayer(quiet=not args.verbose)
    progress = replaying.Progress(sys.stderr, every=args.progress_every)
    if args.files:
        progress.total = len(args.files)
        progress.start("saved histories" if len(args.files) != 1 else "saved history")
        summary = await replaying.replay(replaying.from_files(args.files), replayer, progress)
    else:
        client = await _connect(args)
        if args.query:
            progress.total = await replaying.count(client, args.query)
            progress.start(f"workflows matching {args.query!r}")
            loaded = replaying.by_query(client, args.query)
        else:
            progress.total = len(args.workflow_ids)
            progress.start("workflows")
            loaded = replaying.by_ids(client, args.workflow_ids)
        try:
            summary = await replaying.replay(loaded, replayer, progress)
        except RPCError as error:  # the query itself was refused or the server went away
            sys.stderr.write(f"chaser: {error.message}\n")
            return FAILED
        if not summary.outcomes:
            sys.stderr.write("chaser: no workflow matched: nothing was replayed\n")
    sys.stdout.write("\n".join(summary.lines()) + "\n")
    return OK if summary.ok else FAILED


async def _export(args: argparse.Namespace) -> int:
    client = await _connect(args)
    try:
        history, text = await export_history(client, args.workflow_id, args.run_id)
    except RPCError as error:
        sys.stderr.write(f"chaser: {args.workflow_id}: {error.message}\n")
        return FAILED
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        sys.stderr.write(f"{args.output}: {len(history.events)} events of {args.workflow_id}\n")
    return OK


async def _register_search_attributes(args: argparse.Namespace) -> int:
    from temporal_client import register_search_attributes

    added = await register_search_attributes(await _connect(args))
    sys.stdout.write(f"added: {', '.join(added)}\n" if added else "all registered already\n")
    return OK
