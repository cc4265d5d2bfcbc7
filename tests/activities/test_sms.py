"""The payment-link SMS through the file backend: one message per key, none without a phone
or after payment, and a link the payment page accepts."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from temporalio.testing import ActivityEnvironment

from activities.sms import PaymentSms, SmsActivities
from db.models import OrderEvent
from db.session import Sessions
from mail.links import pay_links
from settings import Settings
from tests.factories import history, make_order
from worker import WorkerDeps


def sms(deps: WorkerDeps) -> SmsActivities:
    return SmsActivities(deps.sessions, deps.sms, deps.mail.links)


async def send(deps: WorkerDeps, order_id: str) -> str:
    """Run the real activity once, outside a workflow; returns its status."""
    sent = await ActivityEnvironment().run(
        sms(deps).send_payment_sms,
        PaymentSms(f"order-{order_id}:sms:payment_link", order_id, datetime.now(UTC)),
    )
    return sent.status


async def test_one_text_per_key_with_a_verified_payment_link(
    deps: WorkerDeps, sessions: Sessions, settings: Settings
) -> None:
    order = await make_order(sessions, phone="+79001234567")
    assert await send(deps, order.id) == "sent"
    assert await send(deps, order.id) == "sent"  # a retry finds its line and sends nothing

    [message] = list((settings.data_dir / "sms").glob("*.txt"))
    text = message.read_text(encoding="utf-8")
    assert text.startswith("To: +79001234567\n")
    token = re.search(rf"http://chaser\.test/pay/{order.id}\?token=(\S+)", text)
    assert token, text
    assert pay_links(settings).verify(token.group(1)).order_id == order.id
    assert [line.kind for line in await history(sessions, order.id)] == ["sms_sent"]


async def test_no_text_without_a_phone_or_once_paid(
    deps: WorkerDeps, sessions: Sessions, settings: Settings
) -> None:
    no_phone = await make_order(sessions, phone=None)
    assert await send(deps, no_phone.id) == "skipped"

    paid = await make_order(sessions)
    async with sessions() as session, session.begin():
        # Paid through the API a moment ago: the chase has not heard of it yet.
        session.add(
            OrderEvent(
                event_id="pay-1", order_id=paid.id, type="paid", received_at=datetime.now(UTC)
            )
        )
    assert await send(deps, paid.id) == "skipped"

    assert not (settings.data_dir / "sms").exists()
    assert await history(sessions, no_phone.id) == []
    assert await history(sessions, paid.id) == []
