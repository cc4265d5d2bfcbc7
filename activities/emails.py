"""Customer emails through the outbox: rendered, checked against the order, sent at most once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from uuid import uuid4

import jinja2
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.orders import CLOSED_STATUSES, load_order
from db.history import record
from db.models import Email, Order, OrderEvent
from db.session import Sessions
from mail.backends import Mailer, PermanentDeliveryError
from mail.links import PayLinks
from mail.render import RenderedEmail, render_email

# Once an order is paid or cancelled the customer hears nothing more, but for this.
AFTER_PAYMENT = frozenset({"thank_you"})


@dataclass
class OrderEmail:
    key: str
    order_id: str
    kind: str  # a template name under templates/emails/<language>/
    at: datetime
    discount_percent: int = 0
    valid_until: datetime | None = None


@dataclass
class EmailSent:
    message_id: str
    status: str  # sent / suppressed


@dataclass(frozen=True)
class MailSetup:
    """What every email needs besides its order: the sender, links, and where the pixel lives."""

    sender: str
    public_base_url: str
    links: PayLinks


class EmailActivities:
    def __init__(
        self, sessions: Sessions, mailer: Mailer, templates: jinja2.Environment, setup: MailSetup
    ) -> None:
        self.sessions = sessions
        self.mailer = mailer
        self.templates = templates
        self.setup = setup

    @activity.defn
    async def send_order_email(self, request: OrderEmail) -> EmailSent:
        """Send one customer email, unless its key was sent already or the order has closed."""
        async with self.sessions() as session:
            email = await session.scalar(select(Email).where(Email.key == request.key))
            if email is not None and email.status != "pending":
                return EmailSent(email.id, email.status)
            order = await load_order(session, request.order_id)
            message_id = email.id if email is not None else uuid4().hex
            rendered = render_email(
                self.templates,
                request.kind,
                order.language,
                self._context(order, request, message_id),
            )
            if email is None:
                email = await self._add_to_outbox(session, request, order, message_id, rendered)
            # Re-checked under the outbox key right before sending: a payment or a
            # cancellation the API recorded wins over a send already scheduled or retried.
            if request.kind not in AFTER_PAYMENT and await _order_closed(session, order):
                email.status = "suppressed"
                record(
                    session,
                    order_id=order.id,
                    at=request.at,
                    actor="system",
                    kind="email_suppressed",
                    email_kind=request.kind,
                    message_id=email.id,
                )
                await session.commit()
                return EmailSent(email.id, email.status)
            try:
                await self.mailer.send(self._message(email, rendered))
            except PermanentDeliveryError as error:
                email.status, email.error = "failed", str(error)
                record(
                    session,
                    order_id=order.id,
                    at=request.at,
                    actor="system",
                    kind="email_failed",
                    email_kind=request.kind,
                    message_id=email.id,
                    error=str(error),
                )
                await session.commit()
                raise ApplicationError(
                    f"email {email.id} to {email.to_addr} refused: {error}",
                    type="PermanentDeliveryError",
                    non_retryable=True,
                ) from error
            email.status, email.sent_at = "sent", request.at
            record(
                session,
                order_id=order.id,
                at=request.at,
                actor="system",
                kind="email_sent",
                email_kind=request.kind,
                message_id=email.id,
                subject=email.subject,
            )
            await session.commit()
            return EmailSent(email.id, email.status)

    async def _add_to_outbox(
        self,
        session: AsyncSession,
        request: OrderEmail,
        order: Order,
        message_id: str,
        rendered: RenderedEmail,
    ) -> Email:
        email = Email(
            id=message_id,
            key=request.key,
            order_id=order.id,
            kind=request.kind,
            to_addr=order.customer_email,
            from_addr=self.setup.sender,
            subject=rendered.subject,
            status="pending",
            created_at=request.at,
        )
        session.add(email)
        try:
            await session.commit()
        except IntegrityError as error:
            # Another attempt with the same key got there first; Temporal retries us.
            raise RuntimeError(f"outbox key {request.key!r} is being written") from error
        return email

    def _context(self, order: Order, request: OrderEmail, message_id: str) -> dict[str, Any]:
        base_url = self.setup.public_base_url.rstrip("/")
        return {
            "customer_name": order.customer_name,
            "product_name": order.product_name,
            "amount": order.amount,
            "currency": order.currency,
            "pay_link": self.setup.links.link(order.id, request.discount_percent),
            "discount_percent": request.discount_percent,
            "valid_until": request.valid_until,
            "pixel_url": f"{base_url}/t/{message_id}.gif",
        }

    def _message(self, email: Email, rendered: RenderedEmail) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = email.subject
        message["From"] = email.from_addr
        message["To"] = email.to_addr
        message["Date"] = formatdate(email.created_at.timestamp(), usegmt=True)
        message["Message-ID"] = f"<{email.id}@chaser>"
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        return message


async def _order_closed(session: AsyncSession, order: Order) -> bool:
    if order.status in CLOSED_STATUSES:
        return True
    closing = await session.scalar(
        select(OrderEvent.event_id).where(
            OrderEvent.order_id == order.id, OrderEvent.type.in_(("paid", "cancelled"))
        )
    )
    return closing is not None
