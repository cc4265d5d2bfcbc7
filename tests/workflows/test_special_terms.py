"""Special terms agreed on a call (seed 003): a manager's discount, and instalments with their
reminders and overdue calls. The backend and the managers act through the HTTP API; the time
skipping server runs the real durations (days of validity, 3 days to the first part, 30
between parts)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from db.models import WebhookEvent
from db.session import Sessions
from scripts.devstack.mailbox import Mailbox
from scripts.devstack.walk import Walk, when
from tests.factories import history, outbox
from tests.workflows.test_email_cadence import pay_link_token, text_of
from tests.workflows.test_manager_process import dial


@pytest.fixture
async def walk(walk: Walk) -> Walk:
    await walk.manager("olga")
    return walk


async def will_pay(walk: Walk, order_id: str, answer: str, call: dict[str, Any]) -> None:
    """The customer is reached and asks for special terms."""
    await walk.answered("olga", call, "reached")
    task = await walk.task("olga", order_id, "will_pay")
    assert task["options"] == ["yes", "no", "discount", "instalments"]
    await walk.answered("olga", task, answer)


async def verified(walk: Walk, message: EmailMessage, order_id: str) -> dict[str, Any]:
    token = pay_link_token(message, order_id)
    response = await walk.api.post(
        "/v1/pay-links/verify", json={"token": token}, headers=walk.backend
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def arrived(mailbox: Mailbox, subject_start: str) -> list[EmailMessage]:
    """The emails whose subject starts so, once there is one (they go out a moment after the
    step that sends them)."""
    for _ in range(400):
        found = [m for m in mailbox.messages if str(m["Subject"]).startswith(subject_start)]
        if found:
            return found
        await asyncio.sleep(0.025)
    raise AssertionError(f"no email {subject_start!r}: {mailbox.subjects()}")


async def part_paid(walk: Walk, order_id: str, event_id: str, amount: str) -> None:
    response = await walk.event(order_id, event_id, "partially_paid", amount=amount)
    assert response.status_code == 202, response.text


async def test_a_discount_bounded_and_valid_for_days_goes_by_email_then_the_payment_date(
    walk: Walk, sessions: Sessions, mailbox: Mailbox
) -> None:
    await will_pay(walk, "DS-1", "discount", await dial(walk, "DS-1"))
    task = await walk.task("olga", "DS-1", "discount")
    assert (task["answer_type"], task["options"], task["number_min"], task["number_max"]) == (
        "number",
        [],
        1,
        10,  # MAX_MANAGER_DISCOUNT
    )
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"number": 15, "valid_days": 3}, "15 is not between 1 and 10"),
        ({"number": 0, "valid_days": 3}, "0 is not between 1 and 10"),
        ({"number": 7}, "send 'valid_days' or 'at' (not both)"),
        ({"valid_days": 3}, "asks for a number"),
    ]
    for body, detail in refusals:
        refused = await walk.answer("olga", task, "number", **body)
        assert refused.status_code == 422 and detail in refused.json()["detail"], refused.text
    granted_at = await walk.now()
    await walk.answered("olga", task, "number", number=7, valid_days=3)

    await walk.status("DS-1", "payment_pending")
    date_task = await walk.task("olga", "DS-1", "payment_date")
    [email] = await arrived(mailbox, "Your 7% discount")
    assert email["Subject"] == 'Your 7% discount on "Python for analysts"'
    assert "valid until" in text_of(email)
    link = await verified(walk, email, "DS-1")
    assert (link["discount_percent"], link["discount_active"]) == (7, True)
    offer = (await walk.order("DS-1"))["offer"]
    assert (offer["percent"], offer["status"]) == (7, "active")
    valid_until = datetime.fromisoformat(offer["valid_until"])
    assert abs(valid_until - granted_at - timedelta(days=3)) < timedelta(seconds=5)
    answered = await walk.tasks("olga", "DS-1", status="answered", kind="discount")
    assert (answered[0]["answer_number"], answered[0]["answer_valid_days"]) == (7, 3)

    # The payment date: its reminder's link still carries the discount.
    await walk.answered("olga", date_task, "at", at=(granted_at + timedelta(days=2)).isoformat())
    await walk.skip(days=2)
    call = await walk.task("olga", "DS-1", "call")
    [reminder] = await arrived(mailbox, "As agreed: your payment link")
    assert (await verified(walk, reminder, "DS-1"))["discount_percent"] == 7

    await walk.skip(days=1, hours=1)  # the three days are over
    offer = (await walk.order("DS-1"))["offer"]
    assert offer["status"] == "expired"
    assert "discount_expired" in await walk.history_kinds("DS-1")

    # Reached again: this time a discount until a date, a naive one read in Moscow time.
    await will_pay(walk, "DS-1", "discount", call)
    task = await walk.task("olga", "DS-1", "discount")
    moscow = (await walk.now() + timedelta(days=5)).astimezone(ZoneInfo("Europe/Moscow"))
    until = moscow.replace(hour=18, minute=0, second=0, microsecond=0)
    both = await walk.answer("olga", task, "number", at=until.isoformat(), number=5, valid_days=1)
    assert both.status_code == 422
    await walk.answered("olga", task, "number", at=until.replace(tzinfo=None).isoformat(), number=5)
    await walk.task("olga", "DS-1", "payment_date")
    offer = (await walk.order("DS-1"))["offer"]
    assert offer["percent"] == 5
    assert datetime.fromisoformat(offer["valid_until"]) == until.astimezone(UTC)
    assert [e.kind for e in await outbox(sessions, "DS-1")].count("manager_discount") == 2

    assert (await walk.event("DS-1", "pay-1", "paid")).status_code == 202
    order = await walk.status("DS-1", "paid")
    assert order["outcome"] == "positive"
    assert await walk.tasks("olga", "DS-1") == []
    await walk.ended("DS-1")


async def test_instalments_remind_each_part_call_when_one_is_missed_and_pay_when_they_add_up(
    walk: Walk, sessions: Sessions, mailbox: Mailbox
) -> None:
    await will_pay(walk, "IN-1", "instalments", await dial(walk, "IN-1"))
    task = await walk.task("olga", "IN-1", "instalments")
    assert (task["answer_type"], task["number_min"], task["number_max"]) == ("number", 2, 6)
    assert (await walk.answer("olga", task, "number", number=7)).status_code == 422
    assert (await walk.answer("olga", task, "number", number=1)).status_code == 422
    planned = await walk.now()
    await walk.answered("olga", task, "number", number=3)

    await walk.status("IN-1", "payment_pending")
    order = await walk.order("IN-1")
    parts = order["instalments"]
    assert [(p["number"], Decimal(p["amount"]), p["status"]) for p in parts] == [
        (1, Decimal("1633.33"), "due"),
        (2, Decimal("1633.33"), "due"),
        (3, Decimal("1633.34"), "due"),
    ]
    dues = [datetime.fromisoformat(p["due_at"]) for p in parts]
    for due, days in zip(dues, (3, 33, 63), strict=True):
        assert abs(due - planned - timedelta(days=days)) < timedelta(seconds=5)
    # The chase outlasts the 30-day window: until a week after the last part.
    ends = datetime.fromisoformat(order["process"]["ends_at"])
    assert abs(ends - dues[2] - timedelta(days=7)) < timedelta(seconds=1)

    # Part 1: reminded a day before its due date, paid in time: no call.
    await walk.skip_to(dues[0] - timedelta(days=1) + timedelta(minutes=1))
    [first] = await arrived(mailbox, "Part 1 of 3")
    assert "1633.33 RUB" in text_of(first)
    assert (
        await walk.event("IN-1", "part-1", "partially_paid", amount="1633.33")
    ).status_code == 202
    await walk.skip_to(dues[0] + timedelta(hours=1))
    assert (await walk.order("IN-1"))["instalments"][0]["status"] == "paid"
    assert await walk.tasks("olga", "IN-1") == []

    # Part 2: reminded, missed on the day 30 days on (past the payment window): a call task.
    await walk.skip_to(dues[1] - timedelta(minutes=1))
    assert await arrived(mailbox, "Part 2 of 3")
    assert (await walk.order("IN-1"))["status"] == "partially_paid"  # not expired
    await walk.skip_to(dues[1] + timedelta(minutes=1))
    call = await walk.task("olga", "IN-1", "instalment_call")
    assert abs(when(call) - dues[1]) < timedelta(seconds=5)
    assert call["options"] == ["reached", "no_answer"] and call["assignee_id"] == "olga"
    assert "instalment plan" in call["call_script"]
    assert (await walk.order("IN-1"))["instalments"][1]["status"] == "missed"
    await walk.answered("olga", call, "reached")
    assert (
        await walk.event("IN-1", "part-2", "partially_paid", amount="1633.33")
    ).status_code == 202

    # Part 3: the last payment adds up to the amount: paid, thank-you.
    await walk.skip_to(dues[2] - timedelta(days=1) + timedelta(minutes=1))
    assert await arrived(mailbox, "Part 3 of 3")
    assert (
        await walk.event("IN-1", "part-3", "partially_paid", amount="1633.34")
    ).status_code == 202
    order = await walk.status("IN-1", "paid")
    assert (order["outcome"], order["end_reason"], order["paid_amount"]) == (
        "positive",
        "paid",
        "4900.00",
    )
    assert [p["status"] for p in order["instalments"]] == ["paid", "paid", "paid"]
    await walk.ended("IN-1")  # the thank-you is out
    kinds = [line.kind for line in await history(sessions, "IN-1")]
    assert kinds.count("instalment_plan") == 1 and kinds.count("instalment_missed") == 1
    async with sessions() as session:  # the shop hears of both through its webhooks
        hooks = await session.scalars(
            select(WebhookEvent)
            .where(
                WebhookEvent.subject == "order:IN-1", WebhookEvent.type.startswith("instalments.")
            )
            .order_by(WebhookEvent.seq)
        )
        assert [(h.type, h.data.get("number")) for h in hooks] == [
            ("instalments.planned", None),
            ("instalments.missed", 2),
        ]
    emails = [e.kind for e in await outbox(sessions, "IN-1") if e.status == "sent"]
    assert emails.count("instalment_reminder") == 3 and emails[-1] == "thank_you"


async def test_an_unpaid_plan_ends_a_week_after_its_last_part(walk: Walk) -> None:
    await will_pay(walk, "IN-2", "instalments", await dial(walk, "IN-2"))
    await walk.answered("olga", await walk.task("olga", "IN-2", "instalments"), "number", number=2)
    await walk.status("IN-2", "payment_pending")
    dues = [datetime.fromisoformat(p["due_at"]) for p in (await walk.order("IN-2"))["instalments"]]
    await walk.skip_to(dues[0] + timedelta(minutes=1))
    first = await walk.task("olga", "IN-2", "instalment_call")
    # Unanswered, it closes when the next part is reminded, and that part calls again.
    await walk.skip_to(dues[1] + timedelta(minutes=1))
    closed = await walk.tasks("olga", "IN-2", status="closed")
    assert [(t["id"], t["close_reason"]) for t in closed] == [
        (first["id"], "the next instalment is due")
    ]
    await walk.task("olga", "IN-2", "instalment_call")
    await walk.skip_to(dues[1] + timedelta(days=7, minutes=1))
    order = await walk.status("IN-2", "cancelled")
    assert (order["outcome"], order["end_reason"]) == ("negative", "expired")
    assert [p["status"] for p in order["instalments"]] == ["missed", "missed"]
    assert await walk.tasks("olga", "IN-2") == []
    await walk.ended("IN-2")
