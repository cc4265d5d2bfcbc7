"""Notifications: what the chases tell a manager (a follow-up went to your lead)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import ClockDep, ManagerDep, SessionDep
from api.errors import NotFound, responses
from api.pagination import PagerDep
from api.schemas.common import can_be_row_id, from_row
from api.schemas.leads import NotificationOut
from db.models import Notification

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


@router.get("")
async def list_notifications(
    manager: ManagerDep,
    session: SessionDep,
    pager: PagerDep,
    unread: bool = False,
) -> list[NotificationOut]:
    """The calling manager's notifications, newest first, a page at a time; `unread=true` for
    the unread ones."""
    query = select(Notification).where(Notification.manager_id == manager.id)
    if unread:
        query = query.where(Notification.read_at.is_(None))
    query = pager.keyset(query, Notification.created_at, Notification.id, newest_first=True)
    rows = pager.page((await session.scalars(query)).all(), lambda n: (n.created_at, n.id))
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
    return from_row(NotificationOut, note)
