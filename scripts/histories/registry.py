"""The registry of recorded paths: each is a function that drives one run of a workflow,
registered with `@recorded(...)`; where the corpus lives."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle

from scripts.histories.recording import Recording

ROOT = Path(__file__).resolve().parents[2]  # the repository: scripts/histories/registry.py
HISTORIES = ROOT / "tests" / "histories"


Drive = Callable[[Recording], Awaitable[WorkflowHandle[Any, Any]]]


@dataclass(frozen=True)
class RecordedPath:
    name: str  # the file is tests/histories/<name>.json
    workflow: str
    description: str
    drive: Drive
    finished: bool  # False: the history is taken while the workflow still runs
    settings: Mapping[str, Any]  # the API's settings that differ for this path


PATHS: dict[str, RecordedPath] = {}


def recorded(
    name: str,
    workflow: str,
    description: str,
    *,
    finished: bool = True,
    settings: Mapping[str, Any] | None = None,
) -> Callable[[Drive], Drive]:
    """Register a path: `name` names the file, `description` is its line in INDEX.md;
    `settings` changes what the API starts this path's chase with."""

    def register(drive: Drive) -> Drive:
        if name in PATHS:
            raise ValueError(f"history path {name!r} is registered twice")
        PATHS[name] = RecordedPath(name, workflow, description, drive, finished, settings or {})
        return drive

    return register


# Paths the processes have but the corpus does not record yet: one line each, shown in
# INDEX.md. Whoever registers a path removes its line here.
PENDING: list[str] = []

# Histories recorded by older code and kept on purpose: tests/histories/frozen/
# <path>.before-<patch id>.json, copied by `--freeze PATCH_ID` just before a change made with
# `workflow.patched(PATCH_ID)`. They stand for chases still running on the old path; this
# script never rewrites them. They go when the patch is deprecated (README: "Changing a
# process while chases run").
FROZEN_DIR = "frozen"


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def say(line: str) -> None:
    sys.stderr.write(line + "\n")
