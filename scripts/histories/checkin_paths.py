"""The check-in's paths: a paid order's customer asked how they like it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from domain import checkin_workflow_id
from scripts.histories.recording import CHECKIN_PRODUCT, Recording
from scripts.histories.registry import recorded


@recorded(
    "checkin-happy",
    "Checkin",
    "an order paid, 30 days on: the check-in email and the task for the manager who took the "
    "order, answered happy",
)
async def checkin_happy(rec: Recording) -> WorkflowHandle[Any, Any]:
    await rec.order("checkin", product=(CHECKIN_PRODUCT, "Python course with a check-in"))
    await rec.take("checkin")
    await rec.task("checkin", "call")
    await rec.pay("checkin")  # the paid end starts the check-in
    await rec.sleep(timedelta(days=30, minutes=1))
    await rec.answered(await rec.checkin_task("checkin"), "happy")
    return rec.handle(checkin_workflow_id("checkin"))
