"""The corpus on disk: INDEX.md, and freezing recordings before a patch."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from scripts.histories.recorder import Saved
from scripts.histories.registry import FROZEN_DIR, PATHS, PENDING, say, shown


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
            "`@recorded(...)` function in `scripts/histories/<process>_paths.py`, then",
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
                f"| {events_in(file)} |"
            )
    else:
        lines += ["None at the moment."]
    (out / "INDEX.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


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
            raise SystemExit(f"{shown(frozen)} exists already")
        shutil.copyfile(file, frozen)
        say(f"{shown(frozen)}: frozen")
    write_index(out, corpus(out))
    say(f"{len(recorded)} histories frozen before {patch_id!r}; commit them with the change")


def corpus(out: Path) -> list[Saved]:
    """The registered paths that have a recording in `out`."""
    return [
        Saved(path, out / f"{path.name}.json", events_in(out / f"{path.name}.json"))
        for path in sorted(PATHS.values(), key=lambda p: p.name)
        if (out / f"{path.name}.json").is_file()
    ]


def events_in(file: Path) -> int:
    return len(json.loads(file.read_text(encoding="utf-8")).get("events", []))
