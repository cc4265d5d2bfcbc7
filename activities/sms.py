"""Text messages to customers: the payment link by SMS, sent at most once per key.

The only backend writes each message to a file (`DATA_DIR/sms/`, as emails go to
`DATA_DIR/mail/` for `make run`). A real SMS gateway is out of scope: it would be one more
class with the same `send`, taking the message key as its idempotency key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from temporalio import activity

from activities.orders import load_order
from db.history import already_done, record_step
from db.order_over import order_over
from db.session import Sessions
from mail.backends import FolderSender, Sender
from mail.links import PayLinks

# One short message per language; the link is the email's payment link.
PAYMENT_TEXTS = {
    "en": "Your order for {product}: {amount} {currency}. Pay here: {link}",
    "ru": "Ваш заказ «{product}»: {amount} {currency}. Оплатить: {link}",
}


@dataclass
class PaymentSms:
    key: str
    order_id: str
    at: datetime


@dataclass
class SmsSent:
    status: str  # sent / skipped
    reason: str | None = None  # why it was skipped: no phone, or the order is closed


@dataclass(frozen=True)
class SmsMessage:
    key: str  # the activity's idempotency key: a resend replaces, never duplicates
    to: str
    text: str


SmsSender = Sender[SmsMessage]


class FileSmsSender(FolderSender[SmsMessage]):
    """Each message as `<key>.txt`."""

    def file_of(self, message: SmsMessage) -> tuple[str, bytes]:
        name = re.sub(r"[^\w.-]", "_", message.key)
        return f"{name}.txt", f"To: {message.to}\n\n{message.text}\n".encode()


class SmsActivities:
    def __init__(self, sessions: Sessions, sender: SmsSender, links: PayLinks) -> None:
        self.sessions = sessions
        self.sender = sender
        self.links = links

    @activity.defn
    async def send_payment_sms(self, request: PaymentSms) -> SmsSent:
        """Text the customer the payment link, once per key; skipped without a phone or
        once the order is closed."""
        async with self.sessions() as session, session.begin():
            if await already_done(session, request.key):
                return SmsSent("sent")
            order = await load_order(session, request.order_id)
            if order.phone is None:
                return SmsSent("skipped", "no phone")
            # Re-checked right before sending, as emails are: a payment or cancellation
            # the API recorded wins over a send already scheduled or retried.
            if await order_over(session, order):
                return SmsSent("skipped", "order closed")
            text = PAYMENT_TEXTS.get(order.language, PAYMENT_TEXTS["en"]).format(
                product=order.product_name,
                amount=order.amount,
                currency=order.currency,
                link=self.links.link(order.id),
            )
            await self.sender.send(SmsMessage(request.key, order.phone, text))
            record_step(session, request, "sms_sent", phone=order.phone)
            return SmsSent("sent")
