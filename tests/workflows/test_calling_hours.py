"""Calls inside the assignee's working hours (README "Calendar"), under time skipping, with the
backend and the managers acting through the HTTP API and the real activities."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from db.session import Sessions
from scripts.devstack.walk import Walk, when
from tests.factories import outbox

MOSCOW = ZoneInfo("Europe/Moscow")
VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")
FRIDAY, MONDAY = 4, 0
OFFICE = "Mon-Fri 09:00-19:00"


async def taken_on_friday_evening(
    walk: Walk, order_id: str, manager: str, customer_timezone: str | None = None
) -> datetime:
    """The order comes on Friday at 19:29 Moscow; at 19:30 `manager` takes it. When it came."""
    friday = await walk.next_weekday(FRIDAY, time(19, 29), MOSCOW)
    await walk.skip_to(friday)
    await walk.create_order(order_id, timezone=customer_timezone)
    await walk.skip(minutes=1)
    await walk.answered(manager, await walk.task(manager, order_id, "take_order"), "yes")
    await walk.status(order_id, "in_progress")
    return friday


async def next_due(walk: Walk, order_id: str, step: str) -> dict[str, Any]:
    """The order view's next due moment, once the chase has reached that step."""
    for _ in range(400):
        process = (await walk.order(order_id))["process"] or {}
        due: dict[str, Any] | None = process.get("next_due")
        if due is not None and due["step"] == step:
            return due
        await asyncio.sleep(0.025)
    raise AssertionError(f"order {order_id} never showed its next {step}")


def local(task: dict[str, Any], zone: ZoneInfo) -> tuple[str, int, int]:
    """A task's opening as (weekday, hour, minute) on the wall clock of `zone`."""
    moment = when(task).astimezone(zone)
    return moment.strftime("%a"), moment.hour, moment.minute


def schedule(calls: list[dict[str, Any]], zone: ZoneInfo) -> str:
    """When the calls opened, in order, as "Mon 09:00, Mon 09:30" on the wall clock of `zone`."""
    return ", ".join("{} {:02}:{:02}".format(*local(call, zone)) for call in calls)


async def unanswered_calls(walk: Walk, manager: str, order_id: str, count: int) -> list[Any]:
    """Answer `no_answer` to each call task the moment it opens: the order's view says when
    the dial's next call is due, and the clock is moved on to then."""
    calls: list[Any] = []
    while len(calls) < count:
        for _ in range(400):
            open_calls = await walk.tasks(manager, order_id, kind="call", status="open")
            if open_calls:
                break
            process = (await walk.order(order_id))["process"] or {}
            dial = process.get("dial") or {}
            if dial.get("next_call_at") is not None:
                await walk.skip_to(datetime.fromisoformat(dial["next_call_at"]))
            await asyncio.sleep(0.025)
        else:
            raise AssertionError(f"no call task after {len(calls)} calls")
        (call,) = open_calls
        calls.append(call)
        await walk.answered(manager, call, "no_answer")
    return calls


async def test_a_friday_evening_order_is_called_from_monday_morning_nine_times_to_wednesday(
    walk: Walk,
) -> None:
    await walk.manager("olga", timezone="Europe/Moscow", working_hours=OFFICE)
    friday = await taken_on_friday_evening(walk, "CH-1", "olga")

    # Nothing on Friday night or over the weekend.
    await walk.skip_to(friday + timedelta(days=2, hours=13, minutes=30))  # Monday 08:59
    assert await walk.tasks("olga", "CH-1", kind="call") == []

    calls = await unanswered_calls(walk, "olga", "CH-1", 9)

    assert schedule(calls, MOSCOW) == (
        "Mon 09:00, Mon 09:30, Mon 10:00, Tue 10:00, Tue 10:30, Tue 11:00, "
        "Wed 11:00, Wed 11:30, Wed 12:00"
    )
    assert [call["title"][-len("(day 1, call 1)") :] for call in calls[2:4]] == [
        "(day 1, call 3)",
        "(day 2, call 1)",
    ]
    assert (await walk.status("CH-1", "pending"))["process"]["dial"]["outcome"] == "unreachable"


async def test_a_gap_that_runs_into_the_night_ends_that_day_of_calls(walk: Walk) -> None:
    # 45 minutes a day: two calls fit, the third would be after hours.
    await walk.manager("olga", timezone="Europe/Moscow", working_hours="Mon-Fri 09:00-09:45")
    friday = await taken_on_friday_evening(walk, "CH-2", "olga")
    await walk.skip_to(friday + timedelta(days=2, hours=13, minutes=30))  # Monday 08:59

    calls = await unanswered_calls(walk, "olga", "CH-2", 6)

    assert schedule(calls, MOSCOW) == (
        "Mon 09:00, Mon 09:30, Tue 09:00, Tue 09:30, Wed 09:00, Wed 09:30"
    )
    assert calls[2]["title"].endswith("(day 2, call 1)")
    dial = (await walk.status("CH-2", "pending"))["process"]["dial"]
    assert (dial["outcome"], dial["attempts"], dial["day"]) == ("unreachable", 6, 3)


async def test_a_manager_in_vladivostok_is_called_on_at_nine_on_their_own_monday(
    walk: Walk,
) -> None:
    await walk.manager("ivan", timezone="Asia/Vladivostok", working_hours=OFFICE)
    friday = await taken_on_friday_evening(
        walk, "CH-V1", "ivan", customer_timezone="Europe/Kaliningrad"
    )  # Saturday 02:30 for Ivan, Friday 18:30 for the customer
    due = await next_due(walk, "CH-V1", "call")
    assert due["manager"] == {"timezone": "Asia/Vladivostok", "local": due["manager"]["local"]}
    manager_local = datetime.fromisoformat(due["manager"]["local"])
    customer_local = datetime.fromisoformat(due["customer"]["local"])
    assert (manager_local.strftime("%a %H:%M"), manager_local.utcoffset()) == (
        "Mon 09:00",
        timedelta(hours=10),
    )
    assert due["customer"]["timezone"] == "Europe/Kaliningrad"
    assert (customer_local.strftime("%a %H:%M"), customer_local.utcoffset()) == (
        "Mon 01:00",
        timedelta(hours=2),
    )
    assert datetime.fromisoformat(due["at"]) == manager_local
    await walk.skip_to(friday + timedelta(days=2, hours=6, minutes=30))  # Monday 08:59 there

    (call,) = await unanswered_calls(walk, "ivan", "CH-V1", 1)

    assert local(call, VLADIVOSTOK) == ("Mon", 9, 0)
    assert local(call, MOSCOW) == ("Mon", 2, 0)  # Sunday night in Moscow is Monday there
    assert when(call) - friday < timedelta(days=3)


async def test_a_payment_date_after_hours_reminds_at_once_and_calls_next_morning(
    walk: Walk, sessions: Sessions
) -> None:
    await walk.manager("olga", timezone="Europe/Moscow", working_hours=OFFICE)
    await taken_on_friday_evening(walk, "CH-3", "olga")
    monday = await walk.next_weekday(MONDAY, time(9, 0), MOSCOW)
    await walk.skip_to(monday + timedelta(seconds=1))
    call = await walk.task("olga", "CH-3", "call")
    await walk.answered("olga", call, "reached")
    await walk.answered("olga", await walk.task("olga", "CH-3", "will_pay"), "yes")
    saturday_noon = monday + timedelta(days=5, hours=3)
    await walk.answered(
        "olga",
        await walk.task("olga", "CH-3", "payment_date"),
        "at",
        at=saturday_noon.isoformat(),
    )

    await walk.skip_to(saturday_noon + timedelta(minutes=5))
    (reminder,) = [e for e in await outbox(sessions, "CH-3") if e.kind == "payment_reminder"]
    assert reminder.status == "sent"
    # At the customer's time, by the chase's clock (sent_at is the SMTP server's, real time).
    assert abs(reminder.created_at - saturday_noon) < timedelta(seconds=5)
    assert await walk.tasks("olga", "CH-3", kind="call", status="open") == []

    (second_dial_call,) = await unanswered_calls(walk, "olga", "CH-3", 1)
    # Monday 09:00, or the moment the worker got to it just after.
    assert (
        timedelta(0)
        <= when(second_dial_call) - (monday + timedelta(weeks=1))
        < timedelta(seconds=5)
    )
