"""Record one workflow history per process path into tests/histories/ (`make record-histories`).

Each path drives a real chase on Temporal's time-skipping test server — the real worker from
`worker.build_worker`, a freshly migrated SQLite database, an SMTP server on loopback and the
API served over HTTP — through the public API, as the shop's backend, the managers and the
customers do, and names the workflow whose history is saved. The saved JSON is what
`temporal workflow show --output json` and `fetch_history()` produce;
tests/test_replay_corpus.py replays every file against the current workflow code.

    .venv/bin/python -m scripts.record_histories            # every path
    .venv/bin/python -m scripts.record_histories order-paid # just these
    .venv/bin/python -m scripts.record_histories --out /tmp/h order-paid  # elsewhere
    .venv/bin/python -m scripts.record_histories --freeze sms-payment-link  # before a patch

The parts live in scripts/histories/: the registry (`registry.py`), what a path gets to drive
a chase (`recording.py`), order paths as lists of steps (`steps.py`), the paths by process
(`*_paths.py`), the recorder (`recorder.py`) and the corpus on disk (`corpus.py`: INDEX.md,
freezing). This module is the CLI.

Adding a path: one `order_path(...)` of steps, or one `@recorded` function, in the process's
`scripts/histories/*_paths.py`; remove its line from `PENDING`, run `make record-histories`,
commit the new JSON with INDEX.md.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

from process_exit import exit_now

# Importing the path modules registers their paths in PATHS.
from scripts.histories import (  # noqa: F401
    checkin_paths,
    dial_paths,
    job_paths,
    lead_paths,
    order_paths,
    renewal_paths,
)
from scripts.histories.corpus import corpus, freeze, write_index
from scripts.histories.recorder import record
from scripts.histories.registry import HISTORIES, PATHS, PENDING, say, shown

# tests/test_replay_corpus.py checks the corpus against the registry.
__all__ = ["PATHS", "PENDING", "main"]


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
    on_disk = corpus(args.out)
    for stale in sorted(set(args.out.glob("*.json")) - {s.file for s in on_disk}):
        stale.unlink()
        say(f"{shown(stale)}: removed, no such path any more")
    missing = [p.name for p in PATHS.values() if not (args.out / f"{p.name}.json").is_file()]
    for name in missing:
        say(f"{name}: registered but not recorded yet (run without arguments)")
    write_index(args.out, on_disk)
    say(
        f"{len(chosen)} recorded, {len(on_disk)} in the corpus "
        f"({time.monotonic() - started:.1f} s); index: {shown(args.out / 'INDEX.md')}"
    )
    return 0


if __name__ == "__main__":
    exit_now(main())
