"""The dial child workflow `order-<id>/dial-<n>` (workflows/dial.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from temporalio.client import WorkflowHandle

from scripts.histories.order_paths import nine_unanswered_calls
from scripts.histories.recording import OFFICE_HOURS, OFFICE_MANAGER, Recording
from scripts.histories.registry import recorded
from scripts.histories.steps import answer, order, order_path, pay, retry_gap, step, take, task


async def _then_cancel(rec: Recording, order_id: str, status: str) -> WorkflowHandle[Any, Any]:
    """Once the dial child has ended and its order reached `status`, cancel the order:
    nothing is left running."""
    child = rec.dial(order_id)
    await rec.ended(child)
    await rec.status(order_id, status)
    await rec.cancel(order_id)
    return child


# fmt: off
order_path(
    "dial-reached",
    "no answer, then reached on call 2 of day 1 (the parent is cancelled after)",
    order(), take(), answer("call", "no_answer"), retry_gap, answer("call", "reached"),
    task("will_pay"), step(_then_cancel, "in_progress"),
    workflow="Dial", result=Recording.dial,
)
order_path(
    "dial-unreachable",
    "nine unanswered calls, 3 a day 30 minutes apart for 3 days: unreachable",
    order(), take(), nine_unanswered_calls, step(_then_cancel, "pending"),
    workflow="Dial", result=Recording.dial,
)
order_path(
    "dial-cancelled",
    "the order is paid while call 2 is open: told why, cancelled, closes the task",
    order(), take(), answer("call", "no_answer"), retry_gap, task("call"), pay(),
    workflow="Dial", result=Recording.dial,
)
# fmt: on


@recorded(
    "dial-after-hours",
    "Dial",
    "taken on a Friday at 19:30 Moscow by a manager working Mon-Fri 09:00-19:00: the first "
    "call opens on Monday at 09:00; reached (the parent is cancelled after)",
)
async def dial_after_hours(rec: Recording) -> WorkflowHandle[Any, Any]:
    moscow = ZoneInfo(OFFICE_HOURS[0])
    now = (await rec.now()).astimezone(moscow)
    friday = datetime.combine(now.date(), clock_time(19, 29), tzinfo=moscow)
    friday += timedelta(days=(4 - now.weekday()) % 7)
    if friday <= now:
        friday += timedelta(weeks=1)
    await rec.sleep(friday - now)
    await rec.order("dial-after-hours")
    await rec.take("dial-after-hours", OFFICE_MANAGER)
    await rec.sleep(timedelta(days=2, hours=14))  # to Monday 09:30
    call = await rec.answer("dial-after-hours", "call", "reached", OFFICE_MANAGER)
    opened = datetime.fromisoformat(call["created_at"]).astimezone(moscow)
    # At the opening, or the moment the worker got to it just after.
    assert opened.weekday() == 0 and clock_time(9) <= opened.time() < clock_time(9, 1), opened
    await rec.task("dial-after-hours", "will_pay", OFFICE_MANAGER)
    return await _then_cancel(rec, "dial-after-hours", "in_progress")
