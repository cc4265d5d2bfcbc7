"""Subscriptions: stored, then followed by `renewal-<id>`; backend events stored, then signalled.

As with orders (api.services.order_events), the subscription's row is locked first so its
events never interleave, an event is committed before Temporal hears of it, and until it has
the row's `signalled_at` is empty and api.redelivery sends it again; the workflow ignores a
second delivery (events by id).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.errors import Conflict, Invalid, NotFound
from api.schemas.subscriptions import SubscriptionEventIn, SubscriptionIn
from api.services.backend_events import Applied, record_event
from api.services.purchases import Stored, purchase_columns, store_once
from api.temporal import answering, signal_workflow
from db.locks import Missing, lock_row
from db.models import Manager, Subscription, SubscriptionEvent
from db.upsert import insert_or_ignore
from domain import SubscriptionEventType, SubscriptionStatus, renewal_workflow_id
from settings import Settings
from workflows.messages import (
    PeriodChanged,
    RenewalInput,
    SubscriptionCancelled,
    SubscriptionRenewed,
)
from workflows.renewal import Renewal

# How far ahead a period may end: further is a typo, and beyond any timer worth setting.
FURTHEST_END = timedelta(days=3 * 366)


async def create_subscription(
    session: AsyncSession, body: SubscriptionIn, settings: Settings, now: datetime
) -> Stored[Subscription]:
    """Store the subscription once; the same id again changes nothing."""
    _check_end(body.period_ends_at, now)
    if body.assignee_id is not None and await session.get(Manager, body.assignee_id) is None:
        raise Invalid(f"manager {body.assignee_id!r} does not exist")
    return await store_once(
        session,
        Subscription,
        {
            "id": body.id,
            **purchase_columns(body, settings.default_language),
            "price": body.price,
            "assignee_id": body.assignee_id,
            "status": SubscriptionStatus.ACTIVE,
            "period": 1,
            "period_ends_at": body.period_ends_at,
            "created_at": now,
            "updated_at": now,
        },
        now,
        subscription_id=body.id,
        kind="subscription_created",
        product_id=body.product.id,
        period_ends_at=body.period_ends_at.isoformat(),
    )


async def ensure_renewal(temporal: Client, settings: Settings, subscription: Subscription) -> None:
    """Start `renewal-<id>` for an active subscription unless it runs (or ran) already: a
    repeated post, or one after a crash between the commit and the start, starts nothing new."""
    if subscription.status != SubscriptionStatus.ACTIVE:
        return
    try:
        await _start(
            temporal,
            settings,
            subscription.id,
            RenewalInput(
                subscription_id=subscription.id,
                period=subscription.period,
                period_ends_at=subscription.period_ends_at.isoformat(),
                timings=settings.renewal_timings(),
            ),
            reuse=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        pass  # it ran and ended: a post of a known subscription starts nothing


async def apply_event(
    session: AsyncSession, subscription_id: str, body: SubscriptionEventIn, now: datetime
) -> Applied[SubscriptionEvent]:
    """Store the event and its effect on the subscription, or refuse it (changing nothing);
    the same event_id again is a duplicate."""
    subscription = await _lock(session, subscription_id)
    seen = await session.get(SubscriptionEvent, body.event_id)
    if seen is not None:
        other = seen.subscription_id != subscription_id
        await session.rollback()  # the lock with it: this event changes nothing
        if other:
            raise Conflict(f"event {body.event_id!r} was already used for another subscription")
        await session.refresh(seen)
        return Applied(seen, duplicate=True)
    _check(subscription, body, now)
    inserted = await insert_or_ignore(
        session,
        SubscriptionEvent,
        {
            "event_id": body.event_id,
            "subscription_id": subscription_id,
            "type": body.type,
            "period": subscription.period,
            "period_ends_at": body.period_ends_at,
            "received_at": now,
        },
    )
    if inserted is None:  # the same event_id, posted for another subscription at this moment
        await session.rollback()
        raise Conflict(f"event {body.event_id!r} was already used for another subscription")
    ends = body.period_ends_at.isoformat() if body.period_ends_at else None
    record_event(
        session,
        body,
        now,
        subscription_id=subscription_id,
        period=subscription.period,
        period_ends_at=ends,
    )
    if body.type == SubscriptionEventType.RENEWED:
        assert body.period_ends_at is not None  # the schema demands it
        subscription.status = SubscriptionStatus.ACTIVE  # a late renewal revives a lapse
        subscription.period += 1
        subscription.period_ends_at = body.period_ends_at
    elif body.type == SubscriptionEventType.PERIOD_CHANGED:
        assert body.period_ends_at is not None
        subscription.period_ends_at = body.period_ends_at
    else:
        subscription.status = SubscriptionStatus.CANCELLED
    subscription.updated_at = now
    await session.commit()
    event = await session.get(SubscriptionEvent, body.event_id)
    assert event is not None
    return Applied(event, duplicate=False)


def _check(subscription: Subscription, body: SubscriptionEventIn, now: datetime) -> None:
    """Refuse an event the subscription cannot take as it stands (nothing is stored yet)."""
    if subscription.status == SubscriptionStatus.CANCELLED:
        raise Conflict(f"subscription {subscription.id!r} is cancelled")
    if body.type == SubscriptionEventType.RENEWED:
        assert body.period_ends_at is not None
        if body.period_ends_at <= subscription.period_ends_at:
            raise Invalid(
                f"period_ends_at {body.period_ends_at.isoformat()} must be after the current "
                f"period's end ({subscription.period_ends_at.isoformat()})"
            )
        _check_end(body.period_ends_at, now)
    elif body.type == SubscriptionEventType.PERIOD_CHANGED:
        assert body.period_ends_at is not None
        if subscription.status != SubscriptionStatus.ACTIVE:
            raise Conflict(f"subscription {subscription.id!r} is {subscription.status}")
        _check_end(body.period_ends_at, now)


def _check_end(end: datetime, now: datetime) -> None:
    if end <= now:
        raise Invalid(f"period_ends_at {end.isoformat()} is in the past")
    if end > now + FURTHEST_END:
        raise Invalid(f"period_ends_at {end.isoformat()} is more than 3 years ahead")


async def deliver(
    session: AsyncSession,
    temporal: Client,
    settings: Settings,
    event: SubscriptionEvent,
    now: datetime,
) -> None:
    """Tell the renewal workflow of a stored event, then mark it heard. A renewal that finds
    no workflow (the period had lapsed) starts the next period's. Raises Unavailable (503)
    when Temporal does not answer: the event stays owed and is sent again."""
    workflow_id = renewal_workflow_id(event.subscription_id)
    if event.type == SubscriptionEventType.RENEWED:
        assert event.period_ends_at is not None
        renewed = SubscriptionRenewed(
            event.event_id, event.period, event.period_ends_at.isoformat()
        )
        if not await signal_workflow(temporal, workflow_id, Renewal.renew, renewed):
            # The period it renews ended without it (lapsed): the next one is followed anew.
            await _start(
                temporal,
                settings,
                event.subscription_id,
                RenewalInput(
                    subscription_id=event.subscription_id,
                    period=event.period + 1,
                    period_ends_at=event.period_ends_at.isoformat(),
                    timings=settings.renewal_timings(),
                    events_seen=[event.event_id],
                ),
                reuse=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            )
    elif event.type == SubscriptionEventType.PERIOD_CHANGED:
        assert event.period_ends_at is not None
        changed = PeriodChanged(event.event_id, event.period_ends_at.isoformat())
        await signal_workflow(temporal, workflow_id, Renewal.change_period, changed)
    else:
        cancelled = SubscriptionCancelled(event.event_id)
        await signal_workflow(temporal, workflow_id, Renewal.cancel, cancelled)
    await session.execute(
        update(SubscriptionEvent)
        .where(SubscriptionEvent.event_id == event.event_id)
        .values(signalled_at=now)
    )
    await session.commit()


async def _start(
    temporal: Client,
    settings: Settings,
    subscription_id: str,
    input: RenewalInput,
    reuse: WorkflowIDReusePolicy,
) -> None:
    async with answering(f"starting the renewal of subscription {subscription_id!r}"):
        await temporal.start_workflow(
            Renewal.run,
            input,
            id=renewal_workflow_id(subscription_id),
            task_queue=settings.temporal_task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=reuse,
        )


async def _lock(session: AsyncSession, subscription_id: str) -> Subscription:
    """The subscription's row, locked until the transaction ends."""
    try:
        return await lock_row(session, Subscription, subscription_id)
    except Missing:
        raise NotFound("subscription", subscription_id) from None
