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

For every payload of an activation and of its completion, three visits each, the SDK
(temporalio 1.35) asks the workflow which serialization context the payload belongs to, and
the sandbox answers by compiling and running a snippet of code under its import hooks: a
fifth of the worker's CPU in a replay of a paid order. The answer is a lookup in the
instance's own state (its workflow id, its pending activities), with no clock or I/O to
refuse, so it is read directly.

Those visits serve a payload codec and external payload storage; this worker has neither, so
each walks the activation and the completion three times to change nothing: a tenth of the
worker's CPU in that replay. Without either, the walks are skipped (`skip_idle_payload_walks`).
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import CodeType, ModuleType
from typing import ClassVar, TypeVar, cast

import temporalio.bridge.worker
from temporalio import workflow
from temporalio.converter import DataConverter, SerializationContext
from temporalio.converter._extstore import StorageDriverStoreContext, StorageOperationMetrics
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker._workflow_instance import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._in_sandbox import InSandbox
from temporalio.worker.workflow_sandbox._runner import _Instance

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


Walk = TypeVar("Walk", bound=Callable[..., Awaitable[StorageOperationMetrics]])
# The SDK's walks, kept before anything replaces them.
_WALK_ACTIVATION = temporalio.bridge.worker.decode_activation
_WALK_COMPLETION = temporalio.bridge.worker.encode_completion


def _unless_idle(walk: Walk) -> Walk:
    """`walk` (an activation's or a completion's), skipped where it would leave every payload
    as it is: no payload codec and no external storage."""

    @functools.wraps(walk)
    async def walked(
        message: object, data_converter: DataConverter, **options: object
    ) -> StorageOperationMetrics:
        if data_converter.payload_codec is None and data_converter.external_storage is None:
            return StorageOperationMetrics()
        return await walk(message, data_converter, **options)

    return cast(Walk, walked)


def skip_idle_payload_walks() -> None:
    """Workflow workers in this process skip the payload walks that would change nothing
    (idempotent); with a codec or external storage they walk as before."""
    temporalio.bridge.worker.decode_activation = _unless_idle(_WALK_ACTIVATION)
    temporalio.bridge.worker.encode_completion = _unless_idle(_WALK_COMPLETION)


class _ContextsRead(_Instance):
    """A workflow in the sandbox whose payloads' contexts are read without entering it."""

    def _in_sandbox(self) -> InSandbox:
        # Set by the sandbox when it created the instance; typeshed sees only the str values.
        return cast(InSandbox, self.globals_and_locals["__temporal_in_sandbox"])

    def get_serialization_context(
        self, command_info: CommandInfo | None
    ) -> SerializationContext | None:
        return self._in_sandbox().get_serialization_context(command_info)

    def get_external_store_context(
        self, command_info: CommandInfo | None
    ) -> StorageDriverStoreContext:
        return self._in_sandbox().get_external_store_context(command_info)


@dataclass(frozen=True)
class ValidatedOnce(SandboxedWorkflowRunner):
    """The sandbox, validating a workflow class the first time a worker serves it; every
    workflow run still starts in the sandbox with these restrictions and runs its code there."""

    validated: set[type] = field(default_factory=set)

    def prepare_workflow(self, defn: workflow._Definition) -> None:
        if defn.cls not in self.validated:
            super().prepare_workflow(defn)
            self.validated.add(defn.cls)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _ContextsRead(det, self.runner_class, self.restrictions)
