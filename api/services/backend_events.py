"""What the backend's events share, whatever they happen to: an order, a subscription, a lead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas.common import EventIn
from db.history import record

Event = TypeVar("Event")


@dataclass(frozen=True)
class Applied(Generic[Event]):
    """A stored event, and whether its event_id had been posted before (it changed nothing)."""

    event: Event
    duplicate: bool


def record_event(session: AsyncSession, event: EventIn, now: datetime, **line: Any) -> None:
    """The event's timeline line; `line` names whose timeline and what the event brought."""
    record(
        session,
        at=now,
        actor="backend",
        kind="event",
        event_id=event.event_id,
        type=event.type,
        **line,
    )
