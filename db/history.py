"""Writing the timeline: one function so the API and the activities write the same shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import HistoryEntry


async def already_done(session: AsyncSession, key: str) -> bool:
    """Whether an activity with this idempotency key has written its line already."""
    found = await session.scalar(select(HistoryEntry.id).where(HistoryEntry.key == key))
    return found is not None


def record(
    session: AsyncSession,
    *,
    at: datetime,
    kind: str,
    actor: str,
    order_id: str | None = None,
    lead_id: str | None = None,
    key: str | None = None,
    **detail: Any,
) -> None:
    """Add a timeline line to the session; the caller commits it with the change it describes."""
    session.add(
        HistoryEntry(
            key=key,
            order_id=order_id,
            lead_id=lead_id,
            at=at,
            kind=kind,
            actor=actor,
            detail=detail,
        )
    )
