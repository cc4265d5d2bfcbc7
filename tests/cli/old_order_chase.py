"""An order chase as some older release wrote it: it waited before its first email.

Registered under the real name, it stands for chases started before an incompatible edit:
their histories begin with a timer where the code on disk sends the order-received email.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.messages import OrderChaseInput


@workflow.defn(name="OrderChase")
class OrderChaseBeforeAnIncompatibleEdit:
    @workflow.run
    async def run(self, input: OrderChaseInput) -> None:
        await workflow.sleep(timedelta(days=1))
