"""Writing the timeline: one function so the API and the activities write the same shape, and
the webhook events each line makes go into the same transaction (the webhook outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import HistoryEntry, WebhookEvent
from webhooks.events import events_for, subject_of


async def already_done(session: AsyncSession, key: str) -> bool:
    """Whether an activity with this idempotency key has written its line already."""
    found = await session.scalar(select(HistoryEntry.id).where(HistoryEntry.key == key))
    return found is not None


class Step(Protocol):
    """A workflow's request to an activity: its idempotency key and the workflow's time."""

    @property
    def key(self) -> str: ...

    @property
    def at(self) -> datetime: ...


def record_step(session: AsyncSession, step: Step, kind: str, **line: Any) -> None:
    """The system's timeline line for a workflow's step, keyed by the step so that a retry
    finds it (already_done); `line` names its order, lead or subscription and the details."""
    record(session, key=step.key, at=step.at, actor="system", kind=kind, **line)


_OWNERS = ("order_id", "lead_id", "subscription_id")


def record_on(
    session: AsyncSession, row: object, *, at: datetime, actor: str, kind: str, **detail: Any
) -> None:
    """A line about `row` (a task, an email, a pause) on the timeline of the order, lead or
    subscription it belongs to: whichever of their ids it has."""
    owners = {name: getattr(row, name, None) for name in _OWNERS}
    record(session, at=at, actor=actor, kind=kind, **owners, **detail)


def record(
    session: AsyncSession,
    *,
    at: datetime,
    kind: str,
    actor: str,
    order_id: str | None = None,
    lead_id: str | None = None,
    subscription_id: str | None = None,
    key: str | None = None,
    **detail: Any,
) -> None:
    """Add a timeline line (of an order, a lead or a subscription), and the webhook events it
    makes, to the session; the caller commits them with the change they describe."""
    session.add(
        HistoryEntry(
            key=key,
            order_id=order_id,
            lead_id=lead_id,
            subscription_id=subscription_id,
            at=at,
            kind=kind,
            actor=actor,
            detail=detail,
        )
    )
    for event_type, data in events_for(kind, order_id, lead_id, detail, subscription_id):
        session.add(
            WebhookEvent(
                id=f"msg_{uuid4().hex}",
                type=event_type,
                subject=subject_of(order_id, lead_id, subscription_id),
                occurred_at=at,
                data=data,
            )
        )
