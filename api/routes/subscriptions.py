"""Subscriptions: the backend reports them and their events; each is followed by
`renewal-<id>`, one period after another."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from api.deps import BackendDep, ContextDep, SessionDep, TemporalDep
from api.errors import responses
from api.lookup import get_or_404, known_id
from api.schemas.common import EventAccepted, from_row
from api.schemas.purchases import purchase_out
from api.schemas.subscriptions import (
    PeriodOut,
    SubscriptionEventIn,
    SubscriptionIn,
    SubscriptionOut,
)
from api.services import subscriptions
from api.services.process import renewal_process
from api.timeline import add_history_route
from db.models import Renewal, Subscription
from domain import SubscriptionStatus

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])


@router.post("", status_code=201)
async def create_subscription(
    body: SubscriptionIn, response: Response, ctx: ContextDep, _: BackendDep
) -> SubscriptionOut:
    """A subscription's current period: store it and start its renewal; the same id again
    starts nothing."""
    stored = await subscriptions.create_subscription(
        ctx.session, body, ctx.settings, await ctx.clock()
    )
    response.status_code = stored.status_code
    await subscriptions.ensure_renewal(ctx.temporal, ctx.settings, stored.row)
    return purchase_out(SubscriptionOut, stored.row)


@router.post("/{subscription_id}/events", status_code=202, responses=responses(404, 409))
async def post_subscription_event(
    subscription_id: str, body: SubscriptionEventIn, ctx: ContextDep, _: BackendDep
) -> EventAccepted:
    """Renewed (with the next period's end), cancelled, or the period's end changed; the same
    event_id twice changes nothing."""
    now = await ctx.clock()
    applied = await subscriptions.apply_event(
        ctx.session, known_id("subscription", subscription_id), body, now
    )
    if applied.event.signalled_at is None:
        await subscriptions.deliver(ctx.session, ctx.temporal, ctx.settings, applied.event, now)
    return EventAccepted(event_id=body.event_id, duplicate=applied.duplicate)


@router.get("/{subscription_id}", responses=responses(404))
async def get_subscription(
    subscription_id: str, session: SessionDep, temporal: TemporalDep, _: BackendDep
) -> SubscriptionOut:
    """The subscription, how its past periods ended, and the running period's next step."""
    subscription = await get_or_404(session, Subscription, "subscription", subscription_id)
    out = purchase_out(SubscriptionOut, subscription)
    periods = await session.scalars(
        select(Renewal).where(Renewal.subscription_id == subscription.id).order_by(Renewal.period)
    )
    out.periods = [from_row(PeriodOut, period) for period in periods]
    if subscription.status == SubscriptionStatus.ACTIVE:
        out.process = await renewal_process(temporal, subscription.id)
    return out


add_history_route(
    router,
    Subscription,
    "The subscription's timeline: events, reminders, the call task and each period's end.",
)
