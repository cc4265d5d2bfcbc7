"""The customer email cadence (SPEC §1 D) walked with its real durations under time skipping:
objection emails, opens through the real pixel, the personal offer and its expiry."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import httpx
import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from db.models import Discount, OrderEvent
from db.session import Sessions
from mail.links import PayToken, pay_links
from scripts.devstack.mailbox import Mailbox
from scripts.devstack.time_skipping import skip
from scripts.devstack.walk import Walk
from settings import Settings
from tests.api.test_orders import order_body
from tests.factories import history, outbox
from tests.fixtures_chase import Chase
from workflows.messages import OrderChaseResult, PaymentReceived
from workflows.order_chase import OrderChase

CUSTOMER_EMAILS = {
    "order_received",
    "objection_1",
    "objection_2",
    "objection_3",
    "landing",
    "personal_offer",
    "thank_you",
}
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """One product of this module sends a shorter cadence with a landing page (seed 001 §3)."""
    return settings.model_copy(
        update={
            "product_emails": {"course-landing": ["objection_1", "landing"]},
            "product_landing_urls": {"course-landing": "https://shop.example/python-bonus"},
        }
    )


def offset(moment: datetime, started: datetime) -> timedelta:
    """Time since the chase started, to the minute: real time adds milliseconds per step."""
    return timedelta(minutes=round((moment - started).total_seconds() / 60))


async def cadence(
    sessions: Sessions, order_id: str, started: datetime
) -> list[tuple[str, str, timedelta]]:
    """The customer's emails in the outbox: kind, status, and when (workflow time) asked for."""
    return [
        (email.kind, email.status, offset(email.created_at, started))
        for email in await outbox(sessions, order_id)
        if email.kind in CUSTOMER_EMAILS
    ]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def pay_link_token(message: EmailMessage, order_id: str) -> str:
    """The token of the payment link in an email's text part (PAY_LINK_TEMPLATE's default)."""
    found = re.search(rf"http://chaser\.test/pay/{order_id}\?token=(\S+)", text_of(message))
    assert found, text_of(message)
    return found.group(1)


def pay_token(settings: Settings, message: EmailMessage, order_id: str) -> PayToken:
    """What the email's payment link carries, verified with the real secret."""
    return pay_links(settings).verify(pay_link_token(message, order_id))


async def told(walk: Walk, chase: Chase, event_id: str, type: str) -> OrderChaseResult:
    """The backend tells of a payment or a cancellation over HTTP; the chase's result."""
    response = await walk.event(chase.order.id, event_id, type)
    assert response.status_code == 202, response.text
    return await chase.handle.result()


async def test_unpaid_order_gets_three_objections_in_order_then_the_offer_then_its_expiry(
    chase: Chase, walk: Walk, sessions: Sessions, settings: Settings, mailbox: Mailbox
) -> None:
    order, started = chase.order, chase.started

    await walk.skip(days=9)  # the offer is out and still valid
    offer = (await walk.order(order.id))["offer"]
    assert (offer["percent"], offer["status"]) == (5, "active")
    assert offset(datetime.fromisoformat(offer["valid_until"]), started) == 10 * DAY
    offer_email = mailbox.messages[-1]
    assert offer_email["Subject"] == 'A personal 5% discount on "Python for analysts"'
    offer_token = pay_token(settings, offer_email, order.id)
    assert (offer_token.order_id, offer_token.discount_percent) == (order.id, 5)
    raw_token = pay_link_token(offer_email, order.id)
    verified = await verify(walk, raw_token)
    assert verified.status_code == 200, verified.text
    assert verified.json()["discount_active"] is True

    assert await chase.handle.result() == OrderChaseResult("cancelled", "negative", "expired")
    assert await cadence(sessions, order.id, started) == [
        ("order_received", "sent", timedelta(0)),
        ("objection_1", "sent", 2 * DAY),
        ("objection_2", "sent", 4 * DAY),
        ("objection_3", "sent", 6 * DAY),
        ("personal_offer", "sent", 8 * DAY),
    ]
    assert [str(m["Subject"]) for m in mailbox.to("anna@example.com")] == [
        "Your order for Python for analysts",
        'What "Python for analysts" will change for you',
        'Yes, you will get through "Python for analysts"',
        'You already know enough to start "Python for analysts" (and a bonus)',
        'A personal 5% discount on "Python for analysts"',
    ]
    async with sessions() as session:
        discount = await session.scalar(select(Discount).where(Discount.order_id == order.id))
    assert discount is not None
    assert (discount.percent, discount.status) == (5, "expired")
    assert offset(discount.created_at, started) == 8 * DAY
    assert offset(discount.valid_until, started) == 10 * DAY
    lines = {line.kind: line for line in await history(sessions, order.id)}
    assert offset(lines["discount_granted"].at, started) == 8 * DAY
    assert offset(lines["discount_expired"].at, started) == 10 * DAY
    # The link carried the discount and when it ends; the objections' links carry none.
    assert offer_token.valid_until == discount.valid_until.replace(microsecond=0)
    for message in mailbox.to("anna@example.com")[1:4]:
        assert pay_token(settings, message, order.id).discount_percent == 0
    shown = await walk.order(order.id)
    assert shown["status"] == "cancelled" and shown["offer"]["status"] == "expired"
    assert (await verify(walk, raw_token)).json()["discount_active"] is False


async def verify(walk: Walk, token: str) -> httpx.Response:
    return await walk.api.post("/v1/pay-links/verify", json={"token": token}, headers=walk.backend)


async def test_an_opened_email_shortens_the_wait_for_the_next(
    chase: Chase, walk: Walk, sessions: Sessions
) -> None:
    await walk.skip(days=2, hours=3)
    [objection_1] = [e for e in await outbox(sessions, chase.order.id) if e.kind == "objection_1"]
    pixel = await walk.api.get(f"/t/{objection_1.id}.gif")  # the customer's mail client, no token
    assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"

    await walk.skip(days=6)
    # Opened at 2d 3h: the open wait ends there and the purchase wait (1 day) starts.
    # Unopened, objection 2 would have waited until day 4 (see the test above).
    assert await cadence(sessions, chase.order.id, chase.started) == [
        ("order_received", "sent", timedelta(0)),
        ("objection_1", "sent", 2 * DAY),
        ("objection_2", "sent", 3 * DAY + 3 * HOUR),
        ("objection_3", "sent", 5 * DAY + 3 * HOUR),
        ("personal_offer", "sent", 7 * DAY + 3 * HOUR),
    ]
    [opened] = [e for e in await outbox(sessions, chase.order.id) if e.kind == "objection_1"]
    assert opened.opened_at is not None
    assert offset(opened.opened_at, chase.started) == 2 * DAY + 3 * HOUR


async def test_paid_between_objection_1_and_2_sends_no_more_objections_but_the_thank_you(
    chase: Chase, walk: Walk, sessions: Sessions, mailbox: Mailbox
) -> None:
    await walk.skip(days=3, hours=12)
    assert await told(walk, chase, "pay-1", "paid") == OrderChaseResult("paid", "positive", "paid")

    await walk.skip(days=30)
    assert await cadence(sessions, chase.order.id, chase.started) == [
        ("order_received", "sent", timedelta(0)),
        ("objection_1", "sent", 2 * DAY),
        ("thank_you", "sent", 3 * DAY + 12 * HOUR),
    ]
    assert [str(m["Subject"]) for m in mailbox.to("anna@example.com")] == [
        "Your order for Python for analysts",
        'What "Python for analysts" will change for you',
        "Thank you for your payment: Python for analysts",
    ]
    async with sessions() as session:
        discount = select(Discount).where(Discount.order_id == chase.order.id)
        assert await session.scalar(discount) is None


async def test_cancelled_order_hears_nothing_after_the_cancellation(
    chase: Chase, walk: Walk, sessions: Sessions, mailbox: Mailbox
) -> None:
    await walk.skip(days=4, hours=1)
    cancelled = await told(walk, chase, "cancel-1", "cancelled")
    assert cancelled == OrderChaseResult("cancelled", "negative", "cancelled")
    received = len(mailbox.messages)

    await walk.skip(days=40)
    assert len(mailbox.messages) == received == 3
    assert await cadence(sessions, chase.order.id, chase.started) == [
        ("order_received", "sent", timedelta(0)),
        ("objection_1", "sent", 2 * DAY),
        ("objection_2", "sent", 4 * DAY),
    ]


async def test_a_payment_stored_before_its_signal_suppresses_the_scheduled_email(
    chase: Chase, ts_env: WorkflowEnvironment, sessions: Sessions, mailbox: Mailbox
) -> None:
    """The API stores the event, then signals: an email due in between must not go out."""
    await skip(ts_env, DAY)
    async with sessions() as session:
        paid = OrderEvent(
            event_id="pay-1", order_id=chase.order.id, type="paid", received_at=datetime.now(UTC)
        )
        session.add(paid)
        await session.commit()
    await skip(ts_env, DAY + HOUR)  # objection 1 was due at day 2
    await chase.handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=True))

    assert (await chase.handle.result()).status == "paid"
    assert await cadence(sessions, chase.order.id, chase.started) == [
        ("order_received", "sent", timedelta(0)),
        ("objection_1", "suppressed", 2 * DAY),
        ("thank_you", "sent", 2 * DAY + HOUR),
    ]
    assert [str(m["Subject"]) for m in mailbox.to("anna@example.com")] == [
        "Your order for Python for analysts",
        "Thank you for your payment: Python for analysts",
    ]
    suppressed = [
        line for line in await history(sessions, chase.order.id) if line.kind == "email_suppressed"
    ]
    assert [line.detail["email_kind"] for line in suppressed] == ["objection_1"]


async def test_a_product_configured_with_a_landing_email_sends_its_own_cadence_in_russian(
    walk: Walk, sessions: Sessions, mailbox: Mailbox
) -> None:
    # Order ids are unique per test: the time-skipping server outlives every test's database.
    order_id = f"L-{uuid.uuid4().hex[:8]}"
    body = order_body(
        order_id,
        product={"id": "course-landing", "name": "Python для аналитиков"},
        customer={"name": "Анна", "email": "anna@example.com", "phone": "+79000000000"},
        language="ru",
    )
    created = await walk.api.post("/v1/orders", json=body, headers=walk.backend)
    assert created.status_code == 201, created.text
    handle = walk.env.client.get_workflow_handle(f"order-{order_id}")
    started = (await handle.describe()).start_time

    await walk.skip(days=9)
    assert await cadence(sessions, order_id, started) == [
        ("order_received", "sent", timedelta(0)),
        ("objection_1", "sent", 2 * DAY),
        ("landing", "sent", 4 * DAY),
        ("personal_offer", "sent", 6 * DAY),
    ]
    subjects = [str(m["Subject"]) for m in mailbox.to("anna@example.com")]
    assert subjects == [
        "Ваш заказ: Python для аналитиков",
        "Что изменит для вас «Python для аналитиков»",
        "Всё, что вы получите с «Python для аналитиков»",
        "Персональная скидка 5% на «Python для аналитиков»",
    ]
    landing, offer = mailbox.to("anna@example.com")[2:4]
    assert "https://shop.example/python-bonus" in text_of(landing)
    assert "(MSK)" in text_of(offer)  # valid until, in DEFAULT_TIMEZONE (Moscow)


async def test_paying_while_the_offer_stands_uses_the_discount(chase: Chase, walk: Walk) -> None:
    await walk.skip(days=8, hours=1)  # the offer went out at 8 days and is valid for 2
    shown = (await walk.order(chase.order.id))["offer"]
    assert (shown["percent"], shown["status"]) == (5, "active")

    paid = await told(walk, chase, "pay-offer", "paid")
    assert paid == OrderChaseResult("paid", "positive", "paid")
    assert (await walk.order(chase.order.id))["offer"]["status"] == "used"
