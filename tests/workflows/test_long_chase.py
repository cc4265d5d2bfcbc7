"""A chase that loops through call-backs continues as new instead of growing without bound."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from db.session import Sessions
from scripts.devstack.walk import Walk
from settings import Settings
from tests.factories import make_order, start_order_chase
from workflows.messages import OrderChaseResult
from workflows.order_chase import OrderChase


async def taken_by_olga(
    walk: Walk, sessions: Sessions, settings: Settings, order_id: str
) -> tuple[WorkflowHandle[OrderChase, OrderChaseResult], str]:
    """A chase that continues as new past 150 history events, Olga's once she took the order:
    its handle and its first run's id."""
    await walk.manager("olga")
    order = await make_order(sessions, id=order_id, chase_started=True)
    handle = await start_order_chase(walk.env.client, settings, order, max_history_events=150)
    first_run = (await handle.describe()).run_id
    await walk.skip(minutes=1)
    await walk.answered("olga", await walk.task("olga", order_id, "take_order"), "yes")
    return handle, first_run


async def call_back_until_it_continues_as_new(
    walk: Walk, handle: WorkflowHandle[OrderChase, OrderChaseResult], first_run: str, most: int
) -> int:
    """Reached, will not pay, kept, called back in 3 days: loop after loop until the chase
    continues as new (in `most` loops at the most); how many it took."""
    order_id = handle.id.removeprefix("order-")
    loops = 0
    while (await handle.describe()).run_id == first_run:
        loops += 1
        assert loops <= most, "the chase never continued as new"
        await walk.answered("olga", await walk.task("olga", order_id, "call"), "reached")
        await walk.answered("olga", await walk.task("olga", order_id, "will_pay"), "no")
        await walk.answered("olga", await walk.task("olga", order_id, "confirm_cancel"), "no")
        callback = await walk.task("olga", order_id, "callback_time")
        call_back_at = await walk.now() + timedelta(days=3)
        await walk.answered("olga", callback, "at", at=call_back_at.isoformat())
        await next_call(walk, order_id)
    return loops


async def next_call(walk: Walk, order_id: str) -> None:
    """Three days on, the next dial's call opens (in this run or the next); it stays new to
    `walk.task`, so the next loop answers it."""
    await walk.skip(days=3)
    await walk.task("olga", order_id, "call")
    walk.seen_tasks.discard(max(walk.seen_tasks))


async def test_call_back_loops_continue_as_new_and_the_chase_goes_on(
    walk: Walk, settings: Settings, sessions: Sessions
) -> None:
    handle, first_run = await taken_by_olga(walk, sessions, settings, "LONG-1")
    loops = await call_back_until_it_continues_as_new(walk, handle, first_run, most=8)

    # The first run ended by continuing as new. It waited for the email cadence to finish
    # (ten days of objection emails and the offer), which takes four call-back loops here.
    old = walk.env.client.get_workflow_handle("order-LONG-1", run_id=first_run)
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
    latest = walk.env.client.get_workflow_handle_for(OrderChase.run, "order-LONG-1")
    assert await latest.result() == OrderChaseResult("paid", "positive", "paid")
    closed = await walk.tasks("olga", "LONG-1", status="closed")
    assert [t["id"] for t in closed] == [call["id"]]
    assert await walk.tasks("olga", "LONG-1") == []


async def test_a_managers_discount_expires_before_the_chase_continues_as_new(
    walk: Walk, settings: Settings, sessions: Sessions
) -> None:
    handle, first_run = await taken_by_olga(walk, sessions, settings, "LONG-2")
    # Reached on the first call: a discount for 20 days, and a payment date 3 days on.
    await walk.answered("olga", await walk.task("olga", "LONG-2", "call"), "reached")
    await walk.answered("olga", await walk.task("olga", "LONG-2", "will_pay"), "discount")
    discount = await walk.task("olga", "LONG-2", "discount")
    await walk.answered("olga", discount, "number", number=5, valid_days=20)
    pay_on = await walk.now() + timedelta(days=3)
    date_task = await walk.task("olga", "LONG-2", "payment_date")
    await walk.answered("olga", date_task, "at", at=pay_on.isoformat())
    valid_until = datetime.fromisoformat((await walk.order("LONG-2"))["offer"]["valid_until"])
    await next_call(walk, "LONG-2")

    # Then call-back loops, long enough to continue as new (four without the discount).
    await call_back_until_it_continues_as_new(walk, handle, first_run, most=12)

    # The first run waited for the discount's end, expired it, and only then continued.
    assert await walk.now() > valid_until
    assert (await walk.order("LONG-2"))["offer"]["status"] == "expired"
    assert "discount_expired" in await walk.history_kinds("LONG-2")
    await walk.event("LONG-2", "pay-long-2", "paid")
    latest = walk.env.client.get_workflow_handle_for(OrderChase.run, "order-LONG-2")
    assert await latest.result() == OrderChaseResult("paid", "positive", "paid")
