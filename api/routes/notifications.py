"""Notifications: what the chases tell a manager (a follow-up went to your lead)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from api.deps import ClockDep, ManagerDep, SessionDep
from api.errors import NotFound, responses
from api.schemas.common import can_be_row_id
from api.schemas.leads import NotificationOut
from db.models import Notification

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


@router.get("")
async def list_notifications(
    manager: ManagerDep,
    session: SessionDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationOut]:
    """The calling manager's notifications, newest first; `unread=true` for the unread ones."""
    query = select(Notification).where(Notification.manager_id == manager.id)
    if unread:
        query = query.where(Notification.read_at.is_(None))
    rows = await session.scalars(
        query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    )
    return [_out(note) for note in rows]


@router.post("/{notification_id}/read", responses=responses(404))
async def mark_read(
    notification_id: int, manager: ManagerDep, session: SessionDep, clock: ClockDep
) -> NotificationOut:
    """Mark one of your notifications read; another manager's is not found for you."""
    known = can_be_row_id(notification_id)
    note = await session.get(Notification, notification_id) if known else None
    if note is None or note.manager_id != manager.id:
        raise NotFound("notification", notification_id)
    if note.read_at is None:
        note.read_at = await clock()
        await session.commit()
    return _out(note)


def _out(note: Notification) -> NotificationOut:
    return NotificationOut(
        id=note.id,
        lead_id=note.lead_id,
        order_id=note.order_id,
        text=note.text,
        created_at=note.created_at,
        read_at=note.read_at,
    )
