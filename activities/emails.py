"""Customer emails through the outbox: rendered, checked against the order, sent at most once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import metrics, outbox
from activities.instalments import plan_of
from activities.orders import load_order
from activities.outbox import EmailSent
from db.models import Discount, Email, Order, Owner
from db.order_over import order_over
from db.suppressions import suppression_of
from domain import OfferStatus
from mail.links import PayLinks
from mail.render import with_unsubscribe
from mail.unsubscribe import UnsubscribeLinks

# Once an order is paid or cancelled the customer hears nothing more, but for these.
AFTER_PAYMENT = frozenset({"thank_you", "checkin"})
# Emails about the order itself, or that the customer asked for: they go to an address on the
# suppression list too. Every other kind (the cadence, the offer) is marketing.
TRANSACTIONAL = frozenset(
    {
        "order_received",
        "payment_reminder",
        "thank_you",
        "ask_phone",
        "ask_correct_phone",
        "contact_us",
        # Terms the customer agreed to on a call: a manager's discount, an instalment due.
        "manager_discount",
        "instalment_reminder",
    }
)


@dataclass
class OrderEmail:
    key: str
    order_id: str
    kind: str  # a template name under templates/emails/<language>/
    at: datetime
    discount_percent: int = 0
    valid_until: datetime | None = None
    instalment: int = 0  # the part of the order's instalment plan the email is about


@dataclass(frozen=True)
class MailSetup:
    """What every email needs besides its order: the sender, links, and where the pixel lives."""

    sender: str
    public_base_url: str
    links: PayLinks
    timezone: str = "UTC"  # the zone dates are written in for the customer
    landing_urls: Mapping[str, str] = field(default_factory=dict)  # product id -> landing page
    unsubscribe: UnsubscribeLinks | None = None  # marketing emails carry these links


class EmailActivities(outbox.SendingActivities[MailSetup]):
    @activity.defn
    async def send_order_email(self, request: OrderEmail) -> EmailSent:
        """Send one customer email, unless its key was sent already or the order has closed."""
        return await self.send_once(request.key, partial(self._send, request))

    async def _send(self, request: OrderEmail, session: AsyncSession, email: Email | None) -> Email:
        order = await load_order(session, request.order_id)
        message_id = email.id if email is not None else uuid4().hex
        discount = await _active_discount(session, order.id, request)
        context = self._context(order, discount, message_id)
        context["instalment"] = await self._instalment(session, order.id, request.instalment)
        rendered = self.render(
            request.kind, order.language, context, what=f"email {request.kind!r}"
        )
        marketing = request.kind not in TRANSACTIONAL
        if marketing and self.setup.unsubscribe is not None:
            url = self.setup.unsubscribe.url(order.customer_email)
            rendered = with_unsubscribe(self.templates, rendered, order.language, url)
        if email is None:
            outgoing = outbox.Outgoing(
                request.key,
                Owner(order_id=order.id),
                request.kind,
                self.setup.sender,
                order.customer_email,
                request.at,
            )
            email = await outbox.add(session, outgoing, rendered.subject, message_id)
        # Re-checked under the outbox key right before sending: a payment or a
        # cancellation the API recorded wins over a send already scheduled or retried,
        # and an unsubscribe or a bounce over a marketing email.
        reason = await self._why_not(session, order, request.kind, email.to_addr)
        if reason is not None:
            await outbox.hold_back(session, email, reason, request.at)
            return email
        headers = (
            self.setup.unsubscribe.headers(email.to_addr)
            if marketing and self.setup.unsubscribe is not None
            else None
        )
        # A refused address gets no marketing email again; the chase asks a manager.
        await outbox.deliver(
            session,
            self.mailer,
            email,
            lambda: outbox.build_message(email, rendered, headers=headers),
            request.at,
            to_customer=True,
        )
        if request.kind == "thank_you" and order.ended_at is not None:
            metrics.thank_you_sent(order.ended_at)
        return email

    def _context(self, order: Order, discount: _Discount, message_id: str) -> dict[str, Any]:
        base_url = self.setup.public_base_url.rstrip("/")
        pay_link = self.setup.links.link(order.id, discount.percent, discount.valid_until)
        valid_until = discount.valid_until
        return {
            "customer_name": order.customer_name,
            "product_name": order.product_name,
            "amount": order.amount,
            "currency": order.currency,
            "pay_link": pay_link,
            "landing_url": self.setup.landing_urls.get(order.product_id, pay_link),
            "discount_percent": discount.percent,
            "valid_until": valid_until.astimezone(ZoneInfo(self.setup.timezone))
            if valid_until
            else None,
            "pixel_url": f"{base_url}/t/{message_id}.gif",
        }

    async def _instalment(
        self, session: AsyncSession, order_id: str, number: int
    ) -> dict[str, Any] | None:
        """Part `number` of the order's plan, for the reminder; None for other emails."""
        if not number:
            return None
        part = next((p for p in await plan_of(session, order_id) if p.number == number), None)
        if part is None:
            raise ApplicationError(
                f"order {order_id!r} has no instalment {number}", non_retryable=True
            )
        return {
            "number": part.number,
            "parts": part.parts,
            "amount": part.amount,
            "due_at": part.due_at.astimezone(ZoneInfo(self.setup.timezone)),
        }

    async def _why_not(
        self, session: AsyncSession, order: Order, kind: str, to_addr: str
    ) -> str | None:
        """Why this email must not go out now; None when it may."""
        if kind not in AFTER_PAYMENT and await order_over(session, order):
            return "order_closed"
        if kind not in TRANSACTIONAL:
            suppression = await suppression_of(session, to_addr)
            if suppression is not None:
                return suppression.reason
        return None


@dataclass(frozen=True)
class _Discount:
    percent: int = 0
    valid_until: datetime | None = None


async def _active_discount(session: AsyncSession, order_id: str, request: OrderEmail) -> _Discount:
    """The discount the payment link carries: the one asked for, else one active on the order
    at the email's time, so every link keeps the customer's discount."""
    if request.discount_percent:
        return _Discount(request.discount_percent, request.valid_until)
    active = await session.scalar(_BEST_ACTIVE, {"order_id": order_id, "at": request.at})
    return _Discount(active.percent, active.valid_until) if active else _Discount()


# Built once (db.history says why).
_BEST_ACTIVE = (
    select(Discount)
    .where(
        Discount.order_id == bindparam("order_id"),
        Discount.status == OfferStatus.ACTIVE,
        Discount.valid_until > bindparam("at"),
    )
    .order_by(Discount.percent.desc())
)
