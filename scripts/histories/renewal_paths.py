"""The renewal's paths: a subscription's period renewed, lapsed or cancelled."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from temporalio.client import WorkflowHandle

from db.models import Subscription, Task
from domain import renewal_workflow_id
from scripts.histories.recording import MANAGER, Recording
from scripts.histories.registry import recorded
from workflows.messages import (
    PeriodChanged,
    RenewalInput,
    SubscriptionCancelled,
    SubscriptionRenewed,
)
from workflows.renewal import Renewal
from workflows.tasks import TaskAnswer


async def _subscription(rec: Recording, subscription_id: str, ends_in: timedelta) -> None:
    """A subscription as `POST /v1/subscriptions` stores it; `olga` sold it (the call is hers)."""
    now = await rec.now()
    async with rec.sessions() as session, session.begin():
        session.add(
            Subscription(
                id=subscription_id,
                product_id="club-python",
                product_name="Python club",
                price=Decimal("990.00"),
                currency="RUB",
                customer_name="Anna Petrova",
                customer_email="anna@example.com",
                language="en",
                assignee_id=MANAGER,
                status="active",
                period=1,
                period_ends_at=now + ends_in,
                created_at=now,
                updated_at=now,
            )
        )


async def _start_renewal(
    rec: Recording, subscription_id: str, ends_in: timedelta
) -> WorkflowHandle[Any, Any]:
    await _subscription(rec, subscription_id, ends_in)
    ends = await rec.now() + ends_in
    return await rec.env.client.start_workflow(
        Renewal.run,
        RenewalInput(
            subscription_id=subscription_id,
            period=1,
            period_ends_at=ends.isoformat(),
            timings=rec.settings.renewal_timings(),
        ),
        id=renewal_workflow_id(subscription_id),
        task_queue=rec.settings.temporal_task_queue,
    )


async def _renewal_call(rec: Recording, subscription_id: str, answer: str) -> None:
    """Answer the subscription's open renewal call as the API does: store, then signal."""
    for _ in range(1000):
        async with rec.sessions() as session:
            task = await session.scalar(
                select(Task).where(
                    Task.subscription_id == subscription_id,
                    Task.kind == "renewal_call",
                    Task.status == "open",
                )
            )
        if task is not None:
            break
        await asyncio.sleep(0.01)
    else:
        raise RuntimeError(f"no renewal call for subscription {subscription_id}")
    handle = rec.env.client.get_workflow_handle(task.workflow_id)
    await rec.settled(handle)
    async with rec.sessions() as session, session.begin():
        row = await session.get(Task, task.id)
        assert row is not None
        row.status, row.answer = "answered", answer
        row.answered_at, row.answered_by = await rec.now(), MANAGER
    await handle.signal(Renewal.answer_task, TaskAnswer(task.id, answer, MANAGER))


@recorded(
    "renewal-renewed",
    "Renewal",
    "a 30-day period: reminders 7 and 1 days before its end, the seller's renewal call 3 days "
    "before (answered renewing), renewed a few hours before the end: continued as new for "
    "period 2",
    finished=False,
)
async def renewal_renewed(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await _start_renewal(rec, "sub-renewed", timedelta(days=30))
    await rec.sleep(timedelta(days=27, minutes=1))
    await _renewal_call(rec, "sub-renewed", "renewing")
    await rec.sleep(timedelta(days=2, hours=20))
    await rec.settled(handle)
    next_end = (await rec.now()) + timedelta(days=31)
    async with rec.sessions() as session, session.begin():
        subscription = await session.get(Subscription, "sub-renewed")
        assert subscription is not None
        subscription.period, subscription.period_ends_at = 2, next_end
    await handle.signal(Renewal.renew, SubscriptionRenewed("renew-1", 1, next_end.isoformat()))
    first = rec.env.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
    for _ in range(1000):
        latest = await rec.env.client.get_workflow_handle(handle.id).describe()
        if latest.run_id != handle.first_execution_run_id:
            await rec.settled(rec.env.client.get_workflow_handle(handle.id))
            # The next period would run a month: it is not this path's.
            await rec.env.client.get_workflow_handle(handle.id).terminate("recorded")
            return first
        await asyncio.sleep(0.01)
    raise RuntimeError("renewal-sub-renewed never continued as new")


@recorded(
    "renewal-lapsed",
    "Renewal",
    "a 10-day period: the 7-day reminder, the renewal call (no answer), the 1-day reminder; no "
    "renewal by the end: lapsed, the subscription's status lapsed",
)
async def renewal_lapsed(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await _start_renewal(rec, "sub-lapsed", timedelta(days=10))
    await rec.sleep(timedelta(days=7, minutes=1))
    await _renewal_call(rec, "sub-lapsed", "no_answer")
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
    handle = await _start_renewal(rec, "sub-cancelled", timedelta(days=10))
    await rec.sleep(timedelta(days=3, minutes=1))
    await rec.settled(handle)
    later = (await rec.now()) + timedelta(days=12)
    await handle.signal(Renewal.change_period, PeriodChanged("moved-1", later.isoformat()))
    await rec.sleep(timedelta(days=9, minutes=1))
    for _ in range(1000):
        state = await handle.query(Renewal.state)
        if state.call_task_id is not None:
            break
        await asyncio.sleep(0.01)
    await rec.settled(handle)
    await handle.signal(Renewal.cancel, SubscriptionCancelled("cancel-1"))
    await rec.ended(handle)
    return handle
