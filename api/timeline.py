"""Reading an order's or a lead's timeline from the history table, oldest line first."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.pagination import Pager
from api.schemas.common import HistoryLine
from db.models import HistoryEntry


async def timeline(
    session: AsyncSession, of: ColumnElement[bool], pager: Pager
) -> list[HistoryLine]:
    """One page of the timeline (api/pagination.py)."""
    query = pager.keyset(select(HistoryEntry).where(of), HistoryEntry.at, HistoryEntry.id)
    lines = pager.page((await session.scalars(query)).all(), lambda h: (h.at, h.id))
    return [HistoryLine(at=h.at, kind=h.kind, actor=h.actor, detail=h.detail) for h in lines]
