"""Subscriptions: the backend reports them and their events; each is followed by
`renewal-<id>`, one period after another."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from api.deps import BackendDep, ClockDep, SessionDep, SettingsDep, TemporalDep
from api.errors import responses
from api.lookup import get_or_404, known_id
from api.pagination import PagerDep
from api.schemas.common import HistoryLine, from_row
from api.schemas.orders import CustomerOut, EventAccepted, ProductOut
from api.schemas.subscriptions import (
    PeriodOut,
    RenewalProcessOut,
    SubscriptionEventIn,
    SubscriptionIn,
    SubscriptionOut,
)
from api.services import subscriptions
from api.temporal import query_workflow
from api.timeline import timeline
from db.models import HistoryEntry, Renewal, Subscription
from domain import RenewalOutcome, SubscriptionStatus, renewal_workflow_id
from workflows.messages import RenewalState
from workflows.renewal import Renewal as RenewalWorkflow

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])


@router.post("", status_code=201, responses=responses(422))
async def create_subscription(
    body: SubscriptionIn,
    response: Response,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    clock: ClockDep,
    _: BackendDep,
) -> SubscriptionOut:
    """A subscription's current period: store it and start its renewal; the same id again
    starts nothing."""
    stored = await subscriptions.create_subscription(session, body, settings, await clock())
    if not stored.created:
        response.status_code = 200
    await subscriptions.ensure_renewal(temporal, settings, stored.subscription)
    return _out(stored.subscription)


@router.post("/{subscription_id}/events", status_code=202, responses=responses(404, 409))
async def post_subscription_event(
    subscription_id: str,
    body: SubscriptionEventIn,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    clock: ClockDep,
    _: BackendDep,
) -> EventAccepted:
    """Renewed (with the next period's end), cancelled, or the period's end changed; the same
    event_id twice changes nothing."""
    now = await clock()
    event, duplicate = await subscriptions.apply_event(
        session, known_id("subscription", subscription_id), body, now
    )
    if event.signalled_at is None:
        await subscriptions.deliver(session, temporal, settings, event, now)
    return EventAccepted(event_id=body.event_id, duplicate=duplicate)


@router.get("/{subscription_id}", responses=responses(404))
async def get_subscription(
    subscription_id: str, session: SessionDep, temporal: TemporalDep, _: BackendDep
) -> SubscriptionOut:
    """The subscription, how its past periods ended, and the running period's next step."""
    subscription = await get_or_404(session, Subscription, "subscription", subscription_id)
    out = _out(subscription)
    periods = await session.scalars(
        select(Renewal).where(Renewal.subscription_id == subscription.id).order_by(Renewal.period)
    )
    out.periods = [
        PeriodOut(
            period=p.period,
            period_ends_at=p.period_ends_at,
            outcome=RenewalOutcome(p.outcome),
            call_answer=p.call_answer,
            ended_at=p.ended_at,
        )
        for p in periods
    ]
    if subscription.status == SubscriptionStatus.ACTIVE:
        state: RenewalState | None = await query_workflow(
            temporal, renewal_workflow_id(subscription.id), RenewalWorkflow.state
        )
        if state is not None:
            out.process = RenewalProcessOut(
                next_step=state.next_step,
                next_step_at=state.next_step_at,
                call_task_id=state.call_task_id,
                call_answer=state.call_answer,
            )
    return out


@router.get("/{subscription_id}/history", responses=responses(404))
async def get_subscription_history(
    subscription_id: str, session: SessionDep, _: BackendDep, pager: PagerDep
) -> list[HistoryLine]:
    """The subscription's timeline: events, reminders, the call task and each period's end."""
    subscription = await get_or_404(session, Subscription, "subscription", subscription_id)
    return await timeline(session, HistoryEntry.subscription_id == subscription.id, pager)


def _out(subscription: Subscription) -> SubscriptionOut:
    return from_row(
        SubscriptionOut,
        subscription,
        product=ProductOut.of(subscription),
        customer=CustomerOut.of(subscription),
    )
