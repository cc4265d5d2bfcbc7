"""SPEC §1 C, path by path, with the real durations under time skipping: the backend and the
managers act through the HTTP API, the worker runs the real activities."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from db.session import Sessions
from scripts.devstack.mailbox import Mailbox
from scripts.devstack.walk import Walk, when
from tests.factories import history, outbox
from workflows.messages import OrderChaseResult
from workflows.order_chase import OrderChase


@pytest.fixture
async def walk(walk: Walk) -> Walk:
    await walk.manager("olga")
    await walk.manager("ivan")
    return walk


async def take(walk: Walk, order_id: str, manager: str = "olga") -> None:
    """Past the grace minute, `manager` takes the order from the pool."""
    await walk.skip(minutes=1)
    task = await walk.task(manager, order_id, "take_order")
    assert task["assignee_id"] is None and task["options"] == ["yes", "duplicate", "mistake"]
    await walk.answered(manager, task, "yes")


async def sent_kinds(sessions: Sessions, order_id: str) -> list[str]:
    return [e.kind for e in await outbox(sessions, order_id) if e.status == "sent"]


async def refused_at_take(
    walk: Walk, sessions: Sessions, order_id: str, answer: str, status: str
) -> None:
    """Ivan answers the take-order task `answer`: the order ends neutral in `status`, nobody
    assigned, having had its first email only."""
    await walk.create_order(order_id)
    assert await walk.tasks("olga", order_id) == []  # the grace minute: nothing yet
    await walk.skip(minutes=1)
    task = await walk.task("ivan", order_id, "take_order")
    await walk.answered("ivan", task, answer)

    order = await walk.status(order_id, status)
    assert (order["outcome"], order["end_reason"], order["assignee_id"]) == (
        "neutral",
        answer,
        None,
    )
    assert await walk.tasks("olga", order_id) == []
    assert await sent_kinds(sessions, order_id) == ["order_received"]


async def cancelled_for_no_phone(
    walk: Walk, order_id: str, answered: datetime, after: timedelta
) -> None:
    """The order is cancelled (negative, no phone) `after` the manager's answer."""
    order = await walk.status(order_id, "cancelled")
    assert (order["outcome"], order["end_reason"]) == ("negative", "no_phone")
    ended = datetime.fromisoformat(order["ended_at"])
    assert abs(ended - answered - after) < timedelta(seconds=5)


async def waits_for_a_phone_then_cancels(walk: Walk, order_id: str) -> None:
    """No phone from the manager's answer on: pending after 5 days, cancelled 3 days later."""
    answered = await walk.now()
    await walk.skip(days=5)
    await walk.status(order_id, "pending")
    await walk.skip(days=3)
    await cancelled_for_no_phone(walk, order_id, answered, timedelta(days=8))


async def test_duplicate_at_take_marks_the_order_false(walk: Walk, sessions: Sessions) -> None:
    await refused_at_take(walk, sessions, "D-1", "duplicate", status="false")


async def test_no_phone_then_a_phone_on_day_3_starts_the_dial(
    walk: Walk, sessions: Sessions, mailbox: Mailbox
) -> None:
    await walk.create_order("P-1", phone=None)
    await take(walk, "P-1")
    assert (await walk.status("P-1", "not_confirmed"))["assignee_id"] == "olga"
    ask = await walk.task("olga", "P-1", "ask_phone")
    assert ask["assignee_id"] == "olga" and ask["options"] == ["send", "skip"]
    await walk.answered("olga", ask, "send")

    await walk.skip(days=3)
    assert "ask_phone" in await sent_kinds(sessions, "P-1")
    assert (
        await walk.event("P-1", "ph-1", "phone_changed", phone="+79005554433")
    ).status_code == 202

    call = await walk.task("olga", "P-1", "call")
    assert call["assignee_id"] == "olga"
    assert "Python for analysts" in call["call_script"]
    assert call["options"] == ["reached", "no_answer", "wrong_number", "duplicate"]
    order = await walk.order("P-1")
    assert order["customer"]["phone"] == "+79005554433"
    assert order["process"]["stage"] == "dialing"
    assert order["process"]["dial"] == {
        "workflow_id": "order-P-1/dial-1",
        "day": 1,
        "call": 0,
        "attempts": 0,
        "outcome": None,
        "next_call_at": None,
    }


async def test_no_phone_ever_goes_pending_after_5_days_and_cancels_3_days_later(
    walk: Walk, sessions: Sessions
) -> None:
    await walk.create_order("P-2", phone=None)
    await take(walk, "P-2")
    ask = await walk.task("olga", "P-2", "ask_phone")
    await walk.answered("olga", ask, "skip")
    await waits_for_a_phone_then_cancels(walk, "P-2")
    assert "ask_phone" not in await sent_kinds(sessions, "P-2")  # the manager skipped it


async def dial(walk: Walk, order_id: str) -> dict[str, Any]:
    """Take the order and return the first call task."""
    await walk.create_order(order_id)
    await take(walk, order_id)
    await walk.status(order_id, "in_progress")
    return await walk.task("olga", order_id, "call")


async def second_call(walk: Walk, order_id: str) -> dict[str, Any]:
    """The first call unanswered: the second call task, half an hour later."""
    call = await dial(walk, order_id)
    await walk.answered("olga", call, "no_answer")
    await walk.skip(minutes=30)
    return await walk.task("olga", order_id, "call")


async def nine_unanswered(walk: Walk, order_id: str, call: dict[str, Any]) -> list[dict[str, Any]]:
    """Answer "no answer" to every call of the dial, 30 minutes or a day apart; the call tasks."""
    calls = [call]
    for attempt in range(1, 10):
        await walk.answered("olga", call, "no_answer")
        if attempt == 9:
            return calls
        await walk.skip(minutes=30) if attempt % 3 else await walk.skip(days=1)
        call = await walk.task("olga", order_id, "call")
        calls.append(call)
    raise AssertionError("unreachable")


async def test_nine_unanswered_calls_with_their_gaps_then_contact_us(
    walk: Walk, sessions: Sessions
) -> None:
    calls = await nine_unanswered(walk, "N-1", await dial(walk, "N-1"))
    assert [call["title"] for call in calls] == [
        f"Call the customer (day {day}, call {number})" for day in (1, 2, 3) for number in (1, 2, 3)
    ]

    order = await walk.status("N-1", "pending")
    # Each timer starts when the answer is processed, a moment (real time, not skipped) after
    # the task opened: on a loaded machine a few seconds.
    gaps = [(when(b) - when(a)).total_seconds() for a, b in pairwise(calls)]
    half_hour, day = 30 * 60, 24 * 3600
    planned = [half_hour, half_hour, day, half_hour, half_hour, day, half_hour, half_hour]
    assert all(0 <= gap - plan < 5 for gap, plan in zip(gaps, planned, strict=True)), gaps
    assert order["process"]["dial"] == {
        "workflow_id": "order-N-1/dial-1",
        "day": 3,
        "call": 3,
        "attempts": 9,
        "outcome": "unreachable",
        "next_call_at": None,
    }
    assert order["process"]["stage"] == "unreachable"
    assert "contact_us" in await sent_kinds(sessions, "N-1")
    assert await walk.tasks("olga", "N-1") == []  # nothing open: waiting for a new phone
    assert (await walk.history_kinds("N-1")).count("call_result") == 9

    # A new phone restarts the dial with fresh counters.
    await walk.event("N-1", "ph-9", "phone_changed", phone="+79007778899")
    again = await walk.task("olga", "N-1", "call")
    assert again["title"] == "Call the customer (day 1, call 1)"
    assert (await walk.order("N-1"))["process"]["dial"]["workflow_id"] == "order-N-1/dial-2"


async def test_reached_will_pay_on_a_date_then_a_reminder_and_a_new_dial_that_day(
    walk: Walk, sessions: Sessions
) -> None:
    call = await dial(walk, "R-1")
    await walk.answered("olga", call, "reached")
    will_pay = await walk.task("olga", "R-1", "will_pay")
    await walk.answered("olga", will_pay, "yes")
    await walk.status("R-1", "payment_pending")
    date_task = await walk.task("olga", "R-1", "payment_date")
    assert date_task["answer_type"] == "datetime" and date_task["options"] == []
    pay_on = (await walk.now() + timedelta(days=4)).replace(microsecond=0)
    await walk.answered("olga", date_task, "at", at=pay_on.isoformat())
    assert (await walk.order("R-1"))["process"]["stage"] == "awaiting_payment_date"

    await walk.skip(days=4)
    next_call = await walk.task("olga", "R-1", "call")
    assert abs(when(next_call) - pay_on) < timedelta(seconds=5)
    reminders = [e for e in await outbox(sessions, "R-1") if e.kind == "payment_reminder"]
    assert len(reminders) == 1 and abs(reminders[0].created_at - pay_on) < timedelta(seconds=5)
    assert (await walk.order("R-1"))["process"]["dial"]["workflow_id"] == "order-R-1/dial-2"


async def test_reached_will_not_pay_and_the_manager_cancels(walk: Walk) -> None:
    call = await dial(walk, "R-2")
    await walk.answered("olga", call, "reached")
    await walk.answered("olga", await walk.task("olga", "R-2", "will_pay"), "no")
    await walk.answered("olga", await walk.task("olga", "R-2", "confirm_cancel"), "yes")
    order = await walk.status("R-2", "cancelled")
    assert (order["outcome"], order["end_reason"]) == ("negative", "declined")
    assert await walk.tasks("olga", "R-2") == []


async def test_reached_will_not_pay_keep_and_call_back_at_the_given_time(
    walk: Walk, sessions: Sessions
) -> None:
    call = await dial(walk, "R-3")
    await walk.answered("olga", call, "reached")
    await walk.answered("olga", await walk.task("olga", "R-3", "will_pay"), "no")
    await walk.answered("olga", await walk.task("olga", "R-3", "confirm_cancel"), "no")
    await walk.status("R-3", "pending")
    callback = await walk.task("olga", "R-3", "callback_time")
    # A naive time is Moscow time (UTC+3): 12:00 there is 09:00 UTC.
    moscow_noon = (await walk.now() + timedelta(days=2)).astimezone(ZoneInfo("Europe/Moscow"))
    moscow_noon = moscow_noon.replace(hour=12, minute=0, second=0, microsecond=0)
    await walk.answered("olga", callback, "at", at=moscow_noon.replace(tzinfo=None).isoformat())
    await walk.skip(days=3)
    next_call = await walk.task("olga", "R-3", "call")
    assert abs(when(next_call) - moscow_noon.astimezone(UTC)) < timedelta(seconds=1)
    assert when(next_call).astimezone(UTC).hour == 9
    assert next_call["title"] == "Call the customer (day 1, call 1)"


async def test_unreachable_then_the_payment_window_closes_the_order_as_expired(
    walk: Walk, sessions: Sessions
) -> None:
    await nine_unanswered(walk, "U-1", await dial(walk, "U-1"))
    await walk.status("U-1", "pending")
    assert "contact_us" in await sent_kinds(sessions, "U-1")

    await walk.skip(days=30)  # no new phone, no payment: the window ends the chase
    order = await walk.status("U-1", "cancelled")
    assert (order["outcome"], order["end_reason"]) == ("negative", "expired")
    assert await walk.tasks("olga", "U-1") == []
    sent = await sent_kinds(sessions, "U-1")
    assert "thank_you" not in sent
    await walk.skip(days=10)
    assert await sent_kinds(sessions, "U-1") == sent


async def test_duplicate_at_call_marks_the_order_false(
    walk: Walk, sessions: Sessions, ts_env: WorkflowEnvironment
) -> None:
    call = await dial(walk, "DC-1")
    await walk.answered("olga", call, "duplicate")
    order = await walk.status("DC-1", "false")
    assert (order["outcome"], order["end_reason"], order["assignee_id"]) == (
        "neutral",
        "duplicate",
        "olga",
    )
    child = ts_env.client.get_workflow_handle("order-DC-1/dial-1")
    assert (await child.describe()).status == WorkflowExecutionStatus.COMPLETED
    assert (await child.result())["outcome"] == "duplicate"
    assert await walk.tasks("olga", "DC-1") == []
    sent = await sent_kinds(sessions, "DC-1")
    await walk.skip(days=40)
    assert await sent_kinds(sessions, "DC-1") == sent  # a false order hears nothing more


async def test_wrong_number_and_no_new_phone_goes_pending_then_cancels(walk: Walk) -> None:
    call = await dial(walk, "WN-1")
    await walk.answered("olga", call, "wrong_number")
    await walk.status("WN-1", "not_confirmed")
    await waits_for_a_phone_then_cancels(walk, "WN-1")


async def test_wrong_number_asks_for_the_right_one_and_dials_it_with_fresh_counters(
    walk: Walk, sessions: Sessions
) -> None:
    await walk.answered("olga", await second_call(walk, "W-1"), "wrong_number")
    order = await walk.status("W-1", "not_confirmed")
    assert order["process"]["dial"]["outcome"] == "wrong_number"
    assert order["process"]["dial"]["attempts"] == 2
    assert "ask_correct_phone" in await sent_kinds(sessions, "W-1")

    await walk.skip(days=1)
    await walk.event("W-1", "ph-2", "phone_changed", phone="+79001112233")
    fresh = await walk.task("olga", "W-1", "call")
    assert fresh["title"] == "Call the customer (day 1, call 1)"
    dial_state = (await walk.order("W-1"))["process"]["dial"]
    assert dial_state == {
        "workflow_id": "order-W-1/dial-2",
        "day": 1,
        "call": 0,
        "attempts": 0,
        "outcome": None,
        "next_call_at": None,
    }


async def test_a_partly_paid_order_keeps_that_status_until_the_rest_is_paid(
    walk: Walk, sessions: Sessions
) -> None:
    await walk.create_order("PP-1")  # 4900.00
    await walk.skip(seconds=30)  # inside the grace minute
    partial = await walk.event("PP-1", "part-1", "partially_paid", amount="1000.00")
    assert partial.status_code == 202
    order = await walk.status("PP-1", "partially_paid")
    assert order["paid_amount"] == "1000.00" and order["process"]["partially_paid"] is True

    await take(walk, "PP-1")
    call = await walk.task("olga", "PP-1", "call")  # no "in progress": it is partly paid
    assert (await walk.order("PP-1"))["status"] == "partially_paid"
    await walk.answered("olga", call, "reached")
    await walk.answered("olga", await walk.task("olga", "PP-1", "will_pay"), "yes")
    date_task = await walk.task("olga", "PP-1", "payment_date")  # no "payment pending" either
    assert (await walk.order("PP-1"))["status"] == "partially_paid"
    pay_on = (await walk.now() + timedelta(days=2)).replace(microsecond=0)
    await walk.answered("olga", date_task, "at", at=pay_on.isoformat())
    await walk.skip(days=2)
    second_call = await walk.task("olga", "PP-1", "call")
    assert "payment_reminder" in await sent_kinds(sessions, "PP-1")

    rest = await walk.event("PP-1", "part-2", "partially_paid", amount="3900.00")
    assert rest.status_code == 202  # the parts add up to the amount: the order is paid
    order = await walk.status("PP-1", "paid")
    assert (order["paid_amount"], order["outcome"], order["end_reason"]) == (
        "4900.00",
        "positive",
        "paid",
    )
    closed = await walk.tasks("olga", "PP-1", status="closed")
    assert [(t["id"], t["close_reason"]) for t in closed] == [(second_call["id"], "order paid")]
    changes = [
        (line.detail["old"], line.detail["new"])
        for line in await history(sessions, "PP-1")
        if line.kind == "status_changed"
    ]
    assert changes == [("new", "partially_paid"), ("partially_paid", "paid")]
    # The thank-you goes out right after the paid status is stored.
    for _ in range(200):
        if (kinds := await sent_kinds(sessions, "PP-1"))[-1] == "thank_you":
            break
        await asyncio.sleep(0.05)
    assert kinds[-1] == "thank_you"


async def test_paid_while_a_call_task_is_open_closes_it_and_sends_nothing_more(
    walk: Walk, sessions: Sessions, ts_env: WorkflowEnvironment
) -> None:
    call = await dial(walk, "PC-1")
    assert (await walk.event("PC-1", "pay-1", "paid")).status_code == 202
    handle = ts_env.client.get_workflow_handle_for(OrderChase.run, "order-PC-1")
    assert await handle.result() == OrderChaseResult("paid", "positive", "paid")
    closed = await walk.tasks("olga", "PC-1", status="closed")
    assert [(t["id"], t["close_reason"]) for t in closed] == [(call["id"], "order paid")]
    child = await ts_env.client.get_workflow_handle("order-PC-1/dial-1").describe()
    assert child.status == WorkflowExecutionStatus.CANCELED
    sent = await sent_kinds(sessions, "PC-1")
    assert sent[-1] == "thank_you"
    await walk.skip(days=40)
    assert (await sent_kinds(sessions, "PC-1"))[-1] == "thank_you"
    assert (await walk.order("PC-1"))["status"] == "paid"


async def test_cancelled_mid_dial_cancels_the_child_and_closes_its_task(
    walk: Walk, ts_env: WorkflowEnvironment
) -> None:
    second = await second_call(walk, "C-1")
    await walk.event("C-1", "cx-1", "cancelled")
    result = await ts_env.client.get_workflow_handle_for(OrderChase.run, "order-C-1").result()
    assert result == OrderChaseResult("cancelled", "negative", "cancelled")
    child = await ts_env.client.get_workflow_handle("order-C-1/dial-1").describe()
    assert child.status == WorkflowExecutionStatus.CANCELED
    task = (await walk.api.get(f"/v1/tasks/{second['id']}", headers=walk.managers["olga"])).json()
    assert (task["status"], task["close_reason"]) == ("closed", "order cancelled")
    assert await walk.tasks("olga", "C-1") == []


async def test_answers_the_api_refuses_change_nothing(walk: Walk) -> None:
    await walk.create_order("X-1")
    await walk.skip(minutes=1)
    take_task = await walk.task("olga", "X-1", "take_order")

    assert (await walk.answer("olga", take_task, "maybe")).status_code == 422
    missing = await walk.api.post(
        "/v1/tasks/999999/answer", json={"answer": "yes"}, headers=walk.managers["olga"]
    )
    assert missing.status_code == 404
    as_backend = await walk.api.get("/v1/tasks", headers=walk.backend)
    assert as_backend.status_code == 403
    no_such_kind = await walk.api.get(
        "/v1/tasks", params={"kind": "take-order"}, headers=walk.managers["olga"]
    )
    assert no_such_kind.status_code == 422 and "take_order" in no_such_kind.json()["detail"]
    await walk.answered("olga", take_task, "yes")
    again = await walk.answer("ivan", take_task, "yes")
    assert again.status_code == 409 and "answered" in again.json()["detail"]

    call = await walk.task("olga", "X-1", "call")
    others = await walk.answer("ivan", call, "reached")
    assert others.status_code == 403
    assert (
        await walk.api.get(f"/v1/tasks/{call['id']}", headers=walk.managers["ivan"])
    ).status_code == 403
    assert await walk.tasks("ivan", "X-1") == []  # ivan sees the pool and his own only

    await walk.answered("olga", call, "reached")
    await walk.answered("olga", await walk.task("olga", "X-1", "will_pay"), "yes")
    date_task = await walk.task("olga", "X-1", "payment_date")
    now = await walk.now()
    past = await walk.answer("olga", date_task, "at", at=(now - timedelta(hours=1)).isoformat())
    assert past.status_code == 422 and "in the past" in past.json()["detail"]
    late = await walk.answer("olga", date_task, "at", at=(now + timedelta(days=31)).isoformat())
    assert late.status_code == 422 and "after the payment window" in late.json()["detail"]
    garbled = await walk.answer("olga", date_task, "at", at="next tuesday")
    assert garbled.status_code == 422
    no_time = await walk.answer("olga", date_task, "at")
    assert no_time.status_code == 422
    still_open = (
        await walk.api.get(f"/v1/tasks/{date_task['id']}", headers=walk.managers["olga"])
    ).json()
    assert still_open["status"] == "open" and still_open["answer"] is None
    assert (await walk.order("X-1"))["process"]["stage"] == "payment_date"


async def test_call_list_has_unpaid_orders_with_a_phone(walk: Walk) -> None:
    await walk.create_order("L-1")
    await walk.create_order("L-2", phone=None)
    await walk.create_order("L-3")
    await walk.settled("L-3")
    await walk.event("L-3", "pay-l3", "paid")
    await walk.status("L-3", "paid")
    listed = (await walk.api.get("/v1/call-list", headers=walk.managers["olga"])).json()
    assert [entry["order_id"] for entry in listed] == ["L-1"]
    assert listed[0]["phone"] == "+79001234567"


async def no_phone_for_5_days(walk: Walk, order_id: str) -> tuple[dict[str, Any], datetime]:
    """An order without a phone, the ask skipped, five days on: the check task and when the
    manager answered the ask."""
    await walk.create_order(order_id, phone=None)
    await take(walk, order_id)
    await walk.answered("olga", await walk.task("olga", order_id, "ask_phone"), "skip")
    answered = await walk.now()
    await walk.skip(days=5)
    await walk.status(order_id, "pending")
    check = await walk.task("olga", order_id, "no_phone_check")
    assert abs(when(check) - answered - timedelta(days=5)) < timedelta(seconds=5)
    assert (check["title"], check["options"], check["assignee_id"]) == (
        "No phone for 5 days — check the order",
        ["wait", "cancel"],
        "olga",
    )
    return check, answered


async def test_no_phone_for_5_days_asks_to_check_the_order_and_cancel_ends_it(
    walk: Walk, sessions: Sessions
) -> None:
    check, answered = await no_phone_for_5_days(walk, "NP-1")
    await walk.answered("olga", check, "cancel")
    await cancelled_for_no_phone(walk, "NP-1", answered, timedelta(days=5))  # at once
    assert await walk.tasks("olga", "NP-1") == []
    assert (await walk.answer("olga", check, "wait")).status_code == 409
    await walk.ended("NP-1")


async def test_wait_closes_the_check_and_the_3_day_wait_runs_to_the_cancel(walk: Walk) -> None:
    check, answered = await no_phone_for_5_days(walk, "NP-2")
    await walk.answered("olga", check, "wait")
    await walk.skip(days=2)
    assert (await walk.order("NP-2"))["status"] == "pending"
    assert await walk.tasks("olga", "NP-2") == []  # answered: nothing open
    await walk.skip(days=1)
    await cancelled_for_no_phone(walk, "NP-2", answered, timedelta(days=8))
    await walk.ended("NP-2")


async def test_a_phone_in_the_3_days_closes_the_unanswered_check_and_dials(walk: Walk) -> None:
    check, _ = await no_phone_for_5_days(walk, "NP-3")
    await walk.skip(days=1)
    assert (
        await walk.event("NP-3", "ph-1", "phone_changed", phone="+79001112233")
    ).status_code == 202
    call = await walk.task("olga", "NP-3", "call")
    assert call["assignee_id"] == "olga"
    closed = await walk.tasks("olga", "NP-3", status="closed")
    assert [(t["id"], t["close_reason"]) for t in closed] == [(check["id"], "a phone arrived")]
    assert (await walk.answer("olga", check, "cancel")).status_code == 409


async def test_the_check_closes_by_itself_when_the_order_is_paid(walk: Walk) -> None:
    check, _ = await no_phone_for_5_days(walk, "NP-4")
    assert (await walk.event("NP-4", "pay-1", "paid")).status_code == 202
    order = await walk.status("NP-4", "paid")
    assert order["outcome"] == "positive"
    closed = await walk.tasks("olga", "NP-4", status="closed")
    assert [t["id"] for t in closed] == [check["id"]]
    await walk.ended("NP-4")


async def test_created_by_mistake_cancels_neutral_and_stays_out_of_conversion(
    walk: Walk, sessions: Sessions
) -> None:
    await refused_at_take(walk, sessions, "M-1", "mistake", status="cancelled")
    report = await walk.api.get(
        "/v1/reports/outcomes", params={"product_id": "course-python"}, headers=walk.backend
    )
    total = report.json()["total"]
    assert (total["neutral"], total["negative"], total["neutral_reasons"]) == (
        1,
        0,
        {"mistake": 1},
    )
    assert total["conversion"] is None  # nothing paid, nothing lost
    await walk.ended("M-1")
