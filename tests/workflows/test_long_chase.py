"""A chase that loops through call-backs continues as new instead of growing without bound."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from db.session import Sessions
from scripts.devstack.walk import Walk
from settings import Settings
from tests.factories import make_order
from workflows.messages import OrderChaseInput, OrderChaseResult
from workflows.order_chase import OrderChase


async def test_call_back_loops_continue_as_new_and_the_chase_goes_on(
    ts_api: httpx.AsyncClient, ts_env: WorkflowEnvironment, settings: Settings, sessions: Sessions
) -> None:
    walk = Walk(ts_api, ts_env, settings)
    await walk.manager("olga")
    order = await make_order(sessions, id="LONG-1", chase_started=True)
    handle = await ts_env.client.start_workflow(
        OrderChase.run,
        OrderChaseInput(
            order_id=order.id,
            has_phone=True,
            timings=settings.order_timings(),
            max_history_events=150,
        ),
        id="order-LONG-1",
        task_queue=settings.temporal_task_queue,
    )
    first_run = (await handle.describe()).run_id
    await walk.skip(minutes=1)
    await walk.answered("olga", await walk.task("olga", "LONG-1", "take_order"), "yes")

    loops = 0
    while (await handle.describe()).run_id == first_run:
        loops += 1
        assert loops <= 8, "the chase never continued as new"
        await walk.answered("olga", await walk.task("olga", "LONG-1", "call"), "reached")
        await walk.answered("olga", await walk.task("olga", "LONG-1", "will_pay"), "no")
        await walk.answered("olga", await walk.task("olga", "LONG-1", "confirm_cancel"), "no")
        callback = await walk.task("olga", "LONG-1", "callback_time")
        call_back_at = await walk.now() + timedelta(days=3)
        await walk.answered("olga", callback, "at", at=call_back_at.isoformat())
        await walk.skip(days=3)
        await walk.task("olga", "LONG-1", "call")  # the next dial: in this run or the next
        walk.seen_tasks.discard(max(walk.seen_tasks))

    # The first run ended by continuing as new. It waited for the email cadence to finish
    # (ten days of objection emails and the offer), which takes four call-back loops here.
    old = ts_env.client.get_workflow_handle("order-LONG-1", run_id=first_run)
    events = [event async for event in old.fetch_history_events()]
    assert events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert loops == 4 and len(events) < 400
    # The new run carries on: same assignee, dial numbers go on, and payment still ends it.
    state = (await walk.order("LONG-1"))["process"]
    assert state["assignee_id"] == "olga"
    assert state["dial"]["workflow_id"] == f"order-LONG-1/dial-{loops + 1}"
    call = await walk.task("olga", "LONG-1", "call")
    assert call["assignee_id"] == "olga"
    await walk.event("LONG-1", "pay-long", "paid")
    latest = ts_env.client.get_workflow_handle_for(OrderChase.run, "order-LONG-1")
    assert await latest.result() == OrderChaseResult("paid", "positive", "paid")
    closed = await walk.tasks("olga", "LONG-1", status="closed")
    assert [t["id"] for t in closed] == [call["id"]]
    assert await walk.tasks("olga", "LONG-1") == []


async def test_a_managers_discount_expires_before_the_chase_continues_as_new(
    ts_api: httpx.AsyncClient, ts_env: WorkflowEnvironment, settings: Settings, sessions: Sessions
) -> None:
    walk = Walk(ts_api, ts_env, settings)
    await walk.manager("olga")
    order = await make_order(sessions, id="LONG-2", chase_started=True)
    handle = await ts_env.client.start_workflow(
        OrderChase.run,
        OrderChaseInput(
            order_id=order.id,
            has_phone=True,
            timings=settings.order_timings(),
            max_history_events=150,
        ),
        id="order-LONG-2",
        task_queue=settings.temporal_task_queue,
    )
    first_run = (await handle.describe()).run_id
    await walk.skip(minutes=1)
    await walk.answered("olga", await walk.task("olga", "LONG-2", "take_order"), "yes")
    # Reached on the first call: a discount for 20 days, and a payment date 3 days on.
    await walk.answered("olga", await walk.task("olga", "LONG-2", "call"), "reached")
    await walk.answered("olga", await walk.task("olga", "LONG-2", "will_pay"), "discount")
    discount = await walk.task("olga", "LONG-2", "discount")
    await walk.answered("olga", discount, "number", number=5, valid_days=20)
    pay_on = await walk.now() + timedelta(days=3)
    date_task = await walk.task("olga", "LONG-2", "payment_date")
    await walk.answered("olga", date_task, "at", at=pay_on.isoformat())
    valid_until = datetime.fromisoformat((await walk.order("LONG-2"))["offer"]["valid_until"])
    await walk.skip(days=3)
    await walk.task("olga", "LONG-2", "call")
    walk.seen_tasks.discard(max(walk.seen_tasks))

    # Then call-back loops, long enough to continue as new (four without the discount).
    loops = 0
    while (await handle.describe()).run_id == first_run:
        loops += 1
        assert loops <= 12, "the chase never continued as new"
        await walk.answered("olga", await walk.task("olga", "LONG-2", "call"), "reached")
        await walk.answered("olga", await walk.task("olga", "LONG-2", "will_pay"), "no")
        await walk.answered("olga", await walk.task("olga", "LONG-2", "confirm_cancel"), "no")
        callback = await walk.task("olga", "LONG-2", "callback_time")
        call_back_at = await walk.now() + timedelta(days=3)
        await walk.answered("olga", callback, "at", at=call_back_at.isoformat())
        await walk.skip(days=3)
        await walk.task("olga", "LONG-2", "call")
        walk.seen_tasks.discard(max(walk.seen_tasks))

    # The first run waited for the discount's end, expired it, and only then continued.
    assert await walk.now() > valid_until
    assert (await walk.order("LONG-2"))["offer"]["status"] == "expired"
    assert "discount_expired" in await walk.history_kinds("LONG-2")
    await walk.event("LONG-2", "pay-long-2", "paid")
    latest = ts_env.client.get_workflow_handle_for(OrderChase.run, "order-LONG-2")
    assert await latest.result() == OrderChaseResult("paid", "positive", "paid")
