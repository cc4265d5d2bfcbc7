"""A subscription's renewal steps: who calls the customer, the reminder email, the period's end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities import outbox
from activities.emails import MailSetup
from activities.outbox import EmailSent
from activities.rows import load
from db.history import record_step
from db.models import Email, Order, Owner, Renewal, Subscription, Task
from db.tasks import close_open_tasks
from domain import OrderStatus, RenewalOutcome, SubscriptionStatus


@dataclass
class ManagerOf:
    subscription_id: str


@dataclass
class RenewalEmail:
    key: str
    subscription_id: str
    period: int
    days_left: int  # whole days until the period ends, as the email says it
    at: datetime


@dataclass
class PeriodEnd:
    key: str
    subscription_id: str
    period: int
    period_ends_at: datetime
    outcome: str  # RenewalOutcome: renewed / lapsed / cancelled
    call_answer: str | None
    at: datetime


class RenewalActivities(outbox.SendingActivities[MailSetup]):
    @activity.defn
    async def renewal_manager(self, whose: ManagerOf) -> str | None:
        """Who calls the customer: the manager the backend named, else the one who sold the
        customer's last paid order; None: the shared pool."""
        async with self.sessions() as session:
            subscription = await _subscription(session, whose.subscription_id)
            if subscription.assignee_id is not None:
                return subscription.assignee_id
            seller: str | None = await session.scalar(
                select(Order.assignee_id)
                .where(
                    func.lower(Order.customer_email) == subscription.customer_email.lower(),
                    Order.status == OrderStatus.PAID,
                    Order.assignee_id.is_not(None),
                )
                .order_by(Order.ended_at.desc(), Order.id.desc())
                .limit(1)
            )
            return seller

    @activity.defn
    async def send_renewal_email(self, request: RenewalEmail) -> EmailSent:
        """The renewal reminder with its pay link, at most once per key; none to a subscription
        that is no longer active or has moved on to another period."""
        return await self.send_once(request.key, partial(self._send, request))

    async def _send(
        self, request: RenewalEmail, session: AsyncSession, email: Email | None
    ) -> Email:
        subscription = await _subscription(session, request.subscription_id)
        email_id = email.id if email is not None else uuid4().hex
        rendered = self.render(
            "renewal_reminder",
            subscription.language,
            self._context(subscription, request, email_id),
            what="renewal reminder",
        )
        if email is None:
            outgoing = outbox.Outgoing(
                request.key,
                Owner(subscription_id=subscription.id),
                "renewal_reminder",
                self.setup.sender,
                subscription.customer_email,
                request.at,
            )
            email = await outbox.add(session, outgoing, rendered.subject, email_id)
        # Re-checked right before sending: a cancel or a renewal the API recorded wins.
        current = (
            subscription.status == SubscriptionStatus.ACTIVE
            and subscription.period == request.period
        )
        if not current:
            await outbox.hold_back(session, email, "period_over", request.at)
            return email
        await outbox.deliver(
            session,
            self.mailer,
            email,
            lambda: outbox.build_message(email, rendered),
            request.at,
            to_customer=True,
        )
        return email

    @activity.defn
    async def finish_period(self, end: PeriodEnd) -> None:
        """Write how the period ended (once), close its open call task, and for a lapse or a
        cancel the subscription's status; a renewal leaves it active for the next period."""
        async with self.sessions() as session, session.begin():
            subscription = await _subscription(session, end.subscription_id)
            done = await session.scalar(
                select(Renewal.id).where(
                    Renewal.subscription_id == subscription.id, Renewal.period == end.period
                )
            )
            if done is not None:
                return
            await close_open_tasks(
                session, Task.subscription_id, subscription.id, f"period {end.outcome}", end.at
            )
            # How the period ended: on its renewals row and on the timeline alike.
            ending: dict[str, Any] = {
                "period": end.period,
                "outcome": end.outcome,
                "call_answer": end.call_answer,
            }
            session.add(
                Renewal(
                    subscription_id=subscription.id,
                    period_ends_at=end.period_ends_at,
                    ended_at=end.at,
                    **ending,
                )
            )
            record_step(session, end, "period_ended", **ending)
            # A renewal the API recorded meanwhile (subscription.period moved on) stands.
            if end.outcome != RenewalOutcome.RENEWED and subscription.period == end.period:
                subscription.status = (
                    SubscriptionStatus.CANCELLED
                    if end.outcome == RenewalOutcome.CANCELLED
                    else SubscriptionStatus.LAPSED
                )
                subscription.updated_at = end.at
        activity.logger.info(
            "subscription %s period %s %s", end.subscription_id, end.period, end.outcome
        )

    def _context(
        self, subscription: Subscription, request: RenewalEmail, email_id: str
    ) -> dict[str, Any]:
        zone = ZoneInfo(subscription.customer_timezone or self.setup.timezone)
        return {
            "customer_name": subscription.customer_name,
            "product_name": subscription.product_name,
            "price": subscription.price,
            "currency": subscription.currency,
            "period_ends_at": subscription.period_ends_at.astimezone(zone),
            "days_left": request.days_left,
            "renew_link": self.setup.links.renewal_link(subscription.id, request.period),
            "pixel_url": f"{self.setup.public_base_url.rstrip('/')}/t/{email_id}.gif",
        }


async def _subscription(session: AsyncSession, subscription_id: str) -> Subscription:
    return await load(session, Subscription, "subscription", subscription_id)
