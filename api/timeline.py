"""Reading an order's or a lead's timeline from the history table, oldest line first."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.pagination import Pager
from api.schemas.common import HistoryLine
from db.models import HistoryEntry


async def timeline(
    session: AsyncSession, of: ColumnElement[bool], pager: Pager | None = None
) -> list[HistoryLine]:
    """One page of the timeline (api/pagination.py), or all of it for a page of the app."""
    query = select(HistoryEntry).where(of)
    if pager is None:
        entries = await session.scalars(query.order_by(HistoryEntry.at, HistoryEntry.id))
        lines = list(entries)
    else:
        query = pager.keyset(query, HistoryEntry.at, HistoryEntry.id)
        lines = pager.page((await session.scalars(query)).all(), lambda h: (h.at, h.id))
    return [HistoryLine(at=h.at, kind=h.kind, actor=h.actor, detail=h.detail) for h in lines]
