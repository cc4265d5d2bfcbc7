"""The renewal's paths: a subscription's period renewed, lapsed or cancelled."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from scripts.histories.recording import Recording, eventually
from scripts.histories.registry import recorded


@recorded(
    "renewal-renewed",
    "Renewal",
    "a 30-day period: reminders 7 and 1 days before its end, the seller's renewal call 3 days "
    "before (answered renewing), renewed a few hours before the end: continued as new for "
    "period 2",
    finished=False,
)
async def renewal_renewed(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.subscription("sub-renewed", timedelta(days=30))
    first_run = (await handle.describe()).run_id
    await rec.sleep(timedelta(days=27, minutes=1))
    await rec.answered(await rec.renewal_call("sub-renewed"), "renewing")
    await rec.sleep(timedelta(days=2, hours=20))
    await rec.settled(handle)
    next_end = await rec.now() + timedelta(days=31)
    await rec.subscription_event("sub-renewed", "renew-1", "renewed", next_end)

    async def next_run() -> str | None:
        run_id = (await handle.describe()).run_id
        return run_id if run_id != first_run else None

    await eventually("the renewal continues as new", next_run)
    await rec.settled(handle)
    # The next period would run a month: it is not this path's.
    await rec.terminate(handle)
    return rec.handle(handle.id, first_run)


@recorded(
    "renewal-lapsed",
    "Renewal",
    "a 10-day period: the 7-day reminder, the renewal call (no answer), the 1-day reminder; no "
    "renewal by the end: lapsed, the subscription's status lapsed",
)
async def renewal_lapsed(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.subscription("sub-lapsed", timedelta(days=10))
    await rec.sleep(timedelta(days=7, minutes=1))
    await rec.answered(await rec.renewal_call("sub-lapsed"), "no_answer")
    await rec.sleep(timedelta(days=3))
    return handle


@recorded(
    "renewal-cancelled",
    "Renewal",
    "a 10-day period: the 7-day reminder, then the end moves 5 days later (period_changed), the "
    "renewal call opens 3 days before the new end, and the backend cancels while it is open: "
    "the task closes, cancelled",
)
async def renewal_cancelled(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.subscription("sub-cancelled", timedelta(days=10))
    await rec.sleep(timedelta(days=3, minutes=1))
    await rec.settled(handle)
    later = await rec.now() + timedelta(days=12)
    await rec.subscription_event("sub-cancelled", "moved-1", "period_changed", later)
    await rec.sleep(timedelta(days=9, minutes=1))
    await rec.renewal_call("sub-cancelled")
    await rec.subscription_event("sub-cancelled", "cancel-1", "cancelled")
    await rec.ended(handle)
    return handle
