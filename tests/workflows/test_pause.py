"""Pausing a chase (README "Calendar") under time skipping, with the product's durations: the
backend and the managers act through the HTTP API, the real worker runs the chase."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from db.session import Sessions
from scripts.devstack.servers import serve_api
from scripts.devstack.walk import Walk, when
from settings import Settings
from tests.factories import history, make_order, outbox, start_order_chase
from tests.workflows.test_calling_hours import FRIDAY, MOSCOW, OFFICE
from tests.workflows.test_send_window import sent
from workflows.messages import ChaseResume, OrderState
from workflows.order_chase import OrderChase


async def shown(walk: Walk, order_id: str, check: Any) -> dict[str, Any]:
    """The order's view once `check(view)` holds (the chase applies a signal shortly after)."""
    for _ in range(400):
        view = await walk.order(order_id)
        if check(view):
            return view
        await asyncio.sleep(0.025)
    raise AssertionError(f"order {order_id} never showed it: {view}")


async def ended(walk: Walk, order_id: str) -> None:
    """Let the chase finish on the worker: one stopped mid-activity would hold the shared
    time-skipping server's clock for the next test."""
    await walk.env.client.get_workflow_handle(f"order-{order_id}").result()


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def near(moment: datetime, wanted: datetime) -> bool:
    """Within seconds: the server's clock runs on while the test reads it and signals."""
    return abs(moment - wanted) < timedelta(seconds=5)


async def test_a_pause_over_the_weekend_holds_calls_and_emails_and_shifts_them(
    walk: Walk, sessions: Sessions
) -> None:
    await walk.manager("olga", timezone="Europe/Moscow", working_hours=OFFICE)
    friday = await walk.next_weekday(FRIDAY, time(10, 0), MOSCOW)
    await walk.skip_to(friday)
    await walk.create_order("PA-1")
    created = await sent(sessions, "PA-1", "order_received")
    await walk.skip(minutes=1)
    await walk.answered("olga", await walk.task("olga", "PA-1", "take_order"), "yes")
    await walk.answered("olga", await walk.task("olga", "PA-1", "call"), "no_answer")
    dial = (await shown(walk, "PA-1", lambda v: v["process"]["dial"]["next_call_at"]))["process"]
    next_call = moment(dial["dial"]["next_call_at"])  # 30 minutes after the first call
    await walk.skip(minutes=9)

    # Friday 10:10: the customer is away until Monday 10:00; Olga pauses her own order.
    monday = friday + timedelta(days=3)
    paused_at = await walk.now()
    response = await walk.pause("PA-1", monday, "customer away for the weekend", by="olga")
    assert response.status_code == 200, response.text
    assert moment(response.json()["pause"]["until"]) == monday
    assert response.json()["pause"]["by"] == "manager:olga"
    stood = monday - paused_at
    view = await shown(
        walk, "PA-1", lambda v: v["process"]["dial"]["next_call_at"] != dial["dial"]["next_call_at"]
    )
    assert moment(view["process"]["paused_until"]) == monday
    assert view["pause"]["reason"] == "customer away for the weekend"
    # The 21 minutes left of the gap follow the pause: Monday 10:21.
    assert near(moment(view["process"]["dial"]["next_call_at"]), next_call + stood)

    # Nothing over the weekend: objection 1 fell due on Sunday 10:00, the second call on Friday.
    await walk.skip_to(monday - timedelta(minutes=1))
    assert await walk.tasks("olga", "PA-1", kind="call", status="open") == []
    assert [e.kind for e in await outbox(sessions, "PA-1")] == ["order_received"]
    assert "paused" in await walk.history_kinds("PA-1")

    # Monday: the chase goes on where it stood, with what was left of each wait.
    await walk.skip_to(next_call + stood + timedelta(seconds=5))
    second = await walk.task("olga", "PA-1", "call")
    assert near(when(second), next_call + stood)
    assert near(when(second), monday + timedelta(minutes=21))
    assert (await walk.order("PA-1"))["pause"] is None
    objection_due = created + timedelta(days=2) + stood  # Wednesday, about 09:50
    await walk.skip_to(objection_due - timedelta(minutes=1))
    assert "objection_1" not in [e.kind for e in await outbox(sessions, "PA-1")]
    await walk.skip(minutes=2)
    assert near(await sent(sessions, "PA-1", "objection_1"), objection_due)


async def test_a_payment_during_a_pause_ends_the_chase_at_once(
    walk: Walk, sessions: Sessions
) -> None:
    await walk.manager("olga")
    await walk.create_order("PA-2")
    await walk.skip(minutes=1)
    await walk.answered("olga", await walk.task("olga", "PA-2", "take_order"), "yes")
    await walk.task("olga", "PA-2", "call")
    response = await walk.pause("PA-2", await walk.now() + timedelta(days=5))
    assert response.status_code == 200, response.text
    await shown(walk, "PA-2", lambda v: v["process"]["paused_until"] is not None)
    await walk.skip(days=1)

    assert (await walk.event("PA-2", "pay-1", "paid")).status_code == 202
    assert (await walk.status("PA-2", "paid"))["pause"] is None
    assert await sent(sessions, "PA-2", "thank_you")  # transactional: not held by the pause
    for _ in range(400):
        if not await walk.tasks("olga", "PA-2", kind="call", status="open"):
            break
        await asyncio.sleep(0.025)
    else:
        raise AssertionError("the call task stayed open after the payment")
    closed = await walk.resume("PA-2")
    assert closed.status_code == 409 and "already paid" in closed.json()["detail"]
    await ended(walk, "PA-2")


async def test_an_early_resume_keeps_the_rest_of_the_wait_and_a_repeat_changes_nothing(
    walk: Walk, sessions: Sessions
) -> None:
    await walk.manager("olga")
    await walk.create_order("PA-3")
    await walk.settled("PA-3")
    started = await sent(sessions, "PA-3", "order_received")  # the grace minute starts here
    until = await walk.now() + timedelta(days=3)
    for _ in range(2):  # the same pause twice: one pause
        response = await walk.pause("PA-3", until, "customer in hospital")
        assert response.status_code == 200, response.text
    await shown(walk, "PA-3", lambda v: v["process"]["paused_until"] is not None)
    paused_at = await walk.now()
    lines = [line for line in await history(sessions, "PA-3") if line.kind == "paused"]
    assert [(line.actor, line.detail["reason"]) for line in lines] == [
        ("backend", "customer in hospital")
    ]

    await walk.skip(hours=1)
    assert await walk.tasks("olga", "PA-3", kind="take_order") == []
    resumed_at = await walk.now()
    response = await walk.resume("PA-3")
    assert response.status_code == 200 and response.json()["pause"] is None
    assert (await walk.resume("PA-3")).status_code == 200  # not paused: nothing to do
    assert (await walk.history_kinds("PA-3")).count("resumed") == 1

    # The grace minute, less what had passed before the pause, runs from the resume.
    await walk.skip(minutes=2)
    take = await walk.task("olga", "PA-3", "take_order")
    assert near(when(take), started + timedelta(minutes=1) + (resumed_at - paused_at))


@pytest.mark.parametrize("extends", [False, True], ids=["window-kept", "window-extended"])
async def test_the_payment_window_moves_with_a_pause_only_when_asked(
    extends: bool,
    ts_env: WorkflowEnvironment,
    ts_worker: Worker,
    settings: Settings,
    sessions: Sessions,
) -> None:
    chosen = settings.model_copy(update={"pause_extends_window": extends})
    app = create_app(chosen, temporal=ts_env.client, clock=ts_env.get_current_time)
    async with serve_api(app) as api:
        walk = Walk(api, ts_env, chosen)
        order_id = f"PW-{extends}"
        await walk.create_order(order_id)
        await walk.settled(order_id)
        ends_at = moment((await walk.order(order_id))["process"]["ends_at"])
        pause = timedelta(days=40)  # past the 30-day window
        response = await walk.pause(order_id, await walk.now() + pause)
        assert response.status_code == 200, response.text
        view = await shown(walk, order_id, lambda v: v["process"]["paused_until"] is not None)

        if extends:
            assert near(moment(view["process"]["ends_at"]), ends_at + pause)
            await walk.skip_to(ends_at + timedelta(days=1))
            assert (await walk.order(order_id))["status"] == "new"  # still chased
        else:
            assert moment(view["process"]["ends_at"]) == ends_at
            await walk.skip_to(ends_at + timedelta(minutes=1))
            expired = await walk.status(order_id, "cancelled")
            assert expired["end_reason"] == "expired"
            await ended(walk, order_id)


async def test_a_pause_goes_on_in_the_run_a_long_chase_continues_as(
    walk: Walk, ts_env: WorkflowEnvironment, settings: Settings, sessions: Sessions
) -> None:
    """The next run starts at a dial from the state it carries: held until its pause is over."""
    await walk.manager("olga")
    order = await make_order(sessions, id="PA-4", chase_started=True, assignee_id="olga")
    now = await walk.now()
    until = now + timedelta(days=2)
    resume = OrderState(
        ends_at=now + timedelta(days=20),
        assignee_id="olga",
        partially_paid=False,
        phone_changes=0,
        dials=4,
        tasks_opened=20,
        events_seen=[],
        opened=[],
        paused_until=until,
        pause_reason="away",
        pause_seq=7,
    )
    handle = await start_order_chase(ts_env.client, settings, order, resume=resume)
    view = await shown(walk, "PA-4", lambda v: v["process"]["paused_until"] is not None)
    assert moment(view["process"]["paused_until"]) == until
    await walk.skip(days=1)
    assert await walk.tasks("olga", "PA-4", kind="call") == []
    # An older change redelivered late does not undo it.
    await handle.signal(OrderChase.resume_chase, ChaseResume(6))
    await walk.skip(hours=23, minutes=59)
    assert await walk.tasks("olga", "PA-4", kind="call") == []

    await walk.skip(minutes=2)
    call = await walk.task("olga", "PA-4", "call")
    assert near(when(call), until)
    assert (await walk.order("PA-4"))["process"]["dial"]["workflow_id"] == "order-PA-4/dial-5"
