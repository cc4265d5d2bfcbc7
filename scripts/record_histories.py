"""Record one workflow history per process path into tests/histories/ (`make record-histories`).

Each path is one function registered with `@recorded(...)`: it drives a real chase on Temporal's
time-skipping test server — the real worker from `worker.build_worker`, a freshly migrated SQLite
database and an SMTP server on loopback — and returns the handle whose history is saved.
The saved JSON is what `temporal workflow show --output json` and `fetch_history()` produce;
tests/test_replay_corpus.py replays every file against the current workflow code.

    .venv/bin/python -m scripts.record_histories            # every path
    .venv/bin/python -m scripts.record_histories order-paid # just these
    .venv/bin/python -m scripts.record_histories --freeze sms-payment-link  # before a patch

Adding a path: write one `@recorded` function below, remove its line from `PENDING`,
run `make record-histories`, commit the new JSON with INDEX.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from cli.history import history_to_json
from db.models import Order
from db.session import Sessions, make_engine, make_sessions
from settings import Settings
from tests.factories import make_order, start_order_chase
from tests.mailbox import Mailbox, SmtpServer
from worker import WORKFLOWS, build_worker, make_deps
from workflows.order_chase import OrderCancelled, OrderChase, PaymentReceived

ROOT = Path(__file__).resolve().parent.parent
HISTORIES = ROOT / "tests" / "histories"
CACHE = Path(os.environ.get("CHASER_CACHE", Path.home() / ".cache" / "chaser"))
TASK_QUEUE = "record-histories"


# --- The registry ---------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    """What a path function gets: the server, the app's database and the mailbox."""

    env: WorkflowEnvironment
    settings: Settings
    sessions: Sessions
    mailbox: Mailbox

    async def order(self, order_id: str, **overrides: Any) -> Order:
        """An order row; its chase's workflow id is `order-<order_id>`."""
        return await make_order(self.sessions, id=order_id, **overrides)

    async def start_order_chase(self, order: Order) -> WorkflowHandle[Any, Any]:
        return await start_order_chase(self.env.client, self.settings, order)

    async def sleep(self, duration: timedelta) -> None:
        """Skip server time: timers due meanwhile fire, as they would in production."""
        await self.env.sleep(duration)


Drive = Callable[[Recording], Awaitable[WorkflowHandle[Any, Any]]]


@dataclass(frozen=True)
class RecordedPath:
    name: str  # the file is tests/histories/<name>.json
    workflow: str
    description: str
    drive: Drive
    finished: bool  # False: the history is taken while the workflow still runs


PATHS: dict[str, RecordedPath] = {}


def recorded(
    name: str, workflow: str, description: str, *, finished: bool = True
) -> Callable[[Drive], Drive]:
    """Register a path: `name` names the file, `description` is its line in INDEX.md."""

    def register(drive: Drive) -> Drive:
        if name in PATHS:
            raise ValueError(f"history path {name!r} is registered twice")
        PATHS[name] = RecordedPath(name, workflow, description, drive, finished)
        return drive

    return register


# Paths the processes have but the corpus does not record yet: one line each, shown in
# INDEX.md. Whoever registers a path removes its line here.
PENDING = [
    "OrderChase: manager process — take the order (yes / duplicate), phone asked and waited "
    "for (arrives / never: no_phone), dial outcomes (reached → will pay yes → payment date; "
    "no → cancel yes / no → call back), wrong number, unreachable",
    "OrderChase: customer email cadence — objection sequence (opened / not opened), personal offer",
    "Dial (child workflow, workflows/dial.py): reached, no answer then reached, wrong number, "
    "duplicate, unreachable after 3 × 3 attempts",
    "LeadChase (workflows/lead_chase.py): six emails then the end, status changed away, "
    "lead replied",
]

# Histories recorded by older code and kept on purpose: tests/histories/frozen/
# <path>.before-<patch id>.json, copied by `--freeze PATCH_ID` just before a change made with
# `workflow.patched(PATCH_ID)`. They stand for chases still running on the old path; this
# script never rewrites them. They go when the patch is deprecated (README: "Changing a
# process while chases run").
FROZEN_DIR = "frozen"


# --- Order chase: payment and cancel watch --------------------------------------------


@recorded("order-paid", "OrderChase", "paid in full on day 3: status paid, thank-you email")
async def order_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("paid"))
    await rec.sleep(timedelta(days=3))
    await handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=True))
    return handle


@recorded(
    "order-partly-paid-then-paid",
    "OrderChase",
    "partly paid on day 1 (status partially_paid), paid in full on day 4",
)
async def order_partly_paid_then_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("partly-paid"))
    await rec.sleep(timedelta(days=1))
    await handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=False))
    await rec.sleep(timedelta(days=3))
    await handle.signal(OrderChase.record_payment, PaymentReceived("pay-2", full=True))
    return handle


@recorded(
    "order-cancelled",
    "OrderChase",
    "cancelled by the backend after an hour: status cancelled (reason cancelled)",
)
async def order_cancelled(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("cancelled"))
    await rec.sleep(timedelta(hours=1))
    await handle.signal(OrderChase.cancel, OrderCancelled("cancel-1"))
    return handle


@recorded(
    "order-expired",
    "OrderChase",
    "never paid: the 30-day payment window ends, status cancelled (reason expired)",
)
async def order_expired(rec: Recording) -> WorkflowHandle[Any, Any]:
    # No signal at all: awaiting the result lets the server skip the whole window.
    return await rec.start_order_chase(await rec.order("expired", phone=None))


# --- The recorder ---------------------------------------------------------------------


class RecordingSettings(Settings):
    """Production defaults, whatever the environment says: recordings do not depend on it."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


@dataclass(frozen=True)
class Saved:
    path: RecordedPath
    file: Path
    events: int


async def record(paths: Sequence[RecordedPath], out: Path) -> list[Saved]:
    """Drive each path in turn on one time-skipping server and save its history."""
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Saved] = []
    with tempfile.TemporaryDirectory(prefix="chaser-record-") as tmp:
        database_url = f"sqlite+aiosqlite:///{tmp}/chaser.db"
        await asyncio.to_thread(_migrate, database_url)
        engine = make_engine(database_url)
        smtp = SmtpServer(port=_free_port())
        smtp.start()
        settings = RecordingSettings(
            database_url=database_url,
            data_dir=Path(tmp),
            email_backend="smtp",
            smtp_url=f"smtp://127.0.0.1:{smtp.port}",
            temporal_task_queue=TASK_QUEUE,
            public_base_url="http://chaser.test",
        )
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=_cached("TEMPORAL_TEST_SERVER", "temporal-test-server")
        )
        try:
            sessions = make_sessions(engine)
            deps = make_deps(settings, sessions)
            async with build_worker(env.client, deps, TASK_QUEUE):
                for path in paths:
                    rec = Recording(env, settings, sessions, smtp.mailbox)
                    saved.append(await _record_one(path, rec, out))
        finally:
            await env.shutdown()
            smtp.stop()
            await engine.dispose()
    return saved


async def _record_one(path: RecordedPath, rec: Recording, out: Path) -> Saved:
    started = time.monotonic()
    handle = await path.drive(rec)
    if path.finished:
        try:
            await handle.result()
        except WorkflowFailureError:
            pass  # a workflow that fails is a path too; its history says so
    history = await handle.fetch_history()
    file = out / f"{path.name}.json"
    file.write_text(history_to_json(history), encoding="utf-8")
    # A recording that does not replay on the code that just made it is a bug: say so now.
    result = await Replayer(workflows=list(WORKFLOWS)).replay_workflow(
        history, raise_on_replay_failure=False
    )
    if result.replay_failure is not None:
        raise RuntimeError(f"{file.name} does not replay: {result.replay_failure}")
    _say(f"{_shown(file)}: {len(history.events)} events ({time.monotonic() - started:.1f} s)")
    return Saved(path, file, len(history.events))


def write_index(out: Path, saved: Sequence[Saved]) -> None:
    rows = sorted(saved, key=lambda s: s.path.name)
    lines = [
        "# Recorded workflow histories",
        "",
        "Written by `make record-histories` (`scripts/record_histories.py`); do not edit by hand.",
        "Each file is one real run's history, in the JSON of",
        "`temporal workflow show --output json` and `WorkflowHandle.fetch_history()`.",
        "`tests/test_replay_corpus.py` replays every file against the current workflow code;",
        "`chaser replay FILE…` does the same by hand.",
        "",
        "| file | workflow | path | events |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| `{s.file.name}` | {s.path.workflow} | {s.path.description} | {s.events} |" for s in rows
    ]
    lines += ["", "## Not recorded yet", ""]
    if PENDING:
        lines += [
            "These paths are being written and are not in the corpus yet. Each is added by one",
            "`@recorded(...)` function in `scripts/record_histories.py`, then",
            "`make record-histories`:",
            "",
        ]
        lines += [f"- {line}" for line in PENDING]
    else:
        lines += ["Every path of every process is recorded."]
    lines += ["", "## Frozen histories (`frozen/`)", ""]
    lines += [
        "Recorded by older code and never re-recorded: they stand for chases still running",
        "on an old path, and must keep replaying until the `workflow.patched` branch that",
        'serves them is deprecated (README, "Changing a process while chases run").',
        "",
    ]
    frozen = sorted((out / FROZEN_DIR).glob("*.json"))
    if frozen:
        lines += ["| file | recorded before the patch | events |", "| --- | --- | --- |"]
        for file in frozen:
            path, _, patch = file.name.removesuffix(".json").partition(".before-")
            lines.append(
                f'| `{FROZEN_DIR}/{file.name}` | `{path}` before `workflow.patched("{patch}")` '
                f"| {_events(file)} |"
            )
    else:
        lines += ["None at the moment."]
    (out / "INDEX.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _migrate(database_url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")


def _cached(env_var: str, name: str) -> str | None:
    """The server binary `make setup` installed; None lets the SDK download its own."""
    path = os.environ.get(env_var) or str(CACHE / "bin" / name)
    return path if Path(path).is_file() else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("paths", nargs="*", metavar="PATH", help="record only these paths")
    parser.add_argument("--out", type=Path, default=HISTORIES, help="default: tests/histories")
    parser.add_argument(
        "--freeze",
        metavar="PATCH_ID",
        help="before a change made with workflow.patched(PATCH_ID): keep today's recordings "
        "(all, or the PATHs given) as frozen/<path>.before-PATCH_ID.json; records nothing",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.paths) - set(PATHS))
    if unknown:
        parser.error(f"unknown path(s) {', '.join(unknown)}; known: {', '.join(sorted(PATHS))}")
    if args.freeze:
        freeze(args.out, args.freeze, args.paths)
        return 0
    chosen = [PATHS[name] for name in (args.paths or sorted(PATHS))]
    started = time.monotonic()
    asyncio.run(record(chosen, args.out))
    # The index always lists the whole registry, from what is on disk now.
    on_disk = _corpus(args.out)
    for stale in sorted(set(args.out.glob("*.json")) - {s.file for s in on_disk}):
        stale.unlink()
        _say(f"{_shown(stale)}: removed, no such path any more")
    missing = [p.name for p in PATHS.values() if not (args.out / f"{p.name}.json").is_file()]
    for name in missing:
        _say(f"{name}: registered but not recorded yet (run without arguments)")
    write_index(args.out, on_disk)
    _say(
        f"{len(chosen)} recorded, {len(on_disk)} in the corpus "
        f"({time.monotonic() - started:.1f} s); index: {_shown(args.out / 'INDEX.md')}"
    )
    return 0


def freeze(out: Path, patch_id: str, names: Sequence[str] = ()) -> None:
    """Copy the recorded histories (all, or `names`) to frozen/, named for the coming patch."""
    if not re.fullmatch(r"[\w.-]+", patch_id):
        raise SystemExit(f"a patch id is letters, digits, '-', '_' or '.': {patch_id!r}")
    target = out / FROZEN_DIR
    target.mkdir(exist_ok=True)
    recorded = [out / f"{name}.json" for name in names] or sorted(out.glob("*.json"))
    for file in recorded:
        frozen = target / f"{file.stem}.before-{patch_id}.json"
        if frozen.exists():
            raise SystemExit(f"{_shown(frozen)} exists already")
        shutil.copyfile(file, frozen)
        _say(f"{_shown(frozen)}: frozen")
    write_index(out, _corpus(out))
    _say(f"{len(recorded)} histories frozen before {patch_id!r}; commit them with the change")


def _corpus(out: Path) -> list[Saved]:
    """The registered paths that have a recording in `out`."""
    return [
        Saved(path, out / f"{path.name}.json", _events(out / f"{path.name}.json"))
        for path in sorted(PATHS.values(), key=lambda p: p.name)
        if (out / f"{path.name}.json").is_file()
    ]


def _events(file: Path) -> int:
    return len(json.loads(file.read_text(encoding="utf-8")).get("events", []))


if __name__ == "__main__":
    raise SystemExit(main())
