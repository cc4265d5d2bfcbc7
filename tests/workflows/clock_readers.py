"""Two workflows for the sandbox check in tests/test_determinism.py: one reads the clock as
workflow code must, one as it must not. Both use a module the worker passes through the
sandbox (domain), as the chases do."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

from domain import OrderStatus


@workflow.defn
class ReadsWorkflowTime:
    @workflow.run
    async def run(self) -> str:
        return f"{OrderStatus.NEW} at {workflow.now().isoformat()}"


@workflow.defn
class ReadsTheWallClock:
    @workflow.run
    async def run(self) -> str:
        return f"{OrderStatus.NEW} at {datetime.now().isoformat()}"
