"""The workflow modules' code, compiled once per process and kept in memory; each workflow
class validated once per process.

The sandbox imports a workflow's modules afresh for every new workflow (and every replay, and
each workflow a new Worker validates). Python would read each module's .pyc and unmarshal it
again each time — or compile its source each time where no .pyc can be written — a quarter
of a new chase's sandbox cost. The modules still run afresh in each sandbox; only their code
objects, which nothing can change, are shared.

A Worker validates every workflow it serves by starting it in the sandbox (about 170 ms for
the eight): once for the worker process, but again for each Worker or Replayer built in the
same process (the suite builds about 190).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import CodeType, ModuleType
from typing import ClassVar

from temporalio import workflow
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

PACKAGES = ("workflows",)


class _CodeKept(importlib.machinery.SourceFileLoader):
    codes: ClassVar[dict[str, CodeType]] = {}

    def get_code(self, fullname: str) -> CodeType:
        code = self.codes.get(self.path)
        if code is None:
            code = super().get_code(fullname)
            if code is None:  # a source file always has code; typeshed allows none
                raise ImportError(f"no code for {fullname}", name=fullname)
            self.codes[self.path] = code
        return code


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and type(spec.loader) is importlib.machinery.SourceFileLoader:
            spec.loader = _CodeKept(fullname, spec.loader.path)
        return spec


def keep_workflow_code() -> None:
    """Serve the workflow packages' imports from code compiled once (idempotent)."""
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


@dataclass(frozen=True)
class ValidatedOnce(SandboxedWorkflowRunner):
    """The sandbox, validating a workflow class the first time a worker serves it; every
    workflow run still starts in the sandbox with these restrictions."""

    validated: set[type] = field(default_factory=set)

    def prepare_workflow(self, defn: workflow._Definition) -> None:
        if defn.cls not in self.validated:
            super().prepare_workflow(defn)
            self.validated.add(defn.cls)
