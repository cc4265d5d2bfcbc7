"""Reading an order's or a lead's timeline from the history table, oldest line first."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas.common import HistoryLine
from db.models import HistoryEntry


async def timeline(session: AsyncSession, of: ColumnElement[bool]) -> list[HistoryLine]:
    lines = await session.scalars(
        select(HistoryEntry).where(of).order_by(HistoryEntry.at, HistoryEntry.id)
    )
    return [HistoryLine(at=h.at, kind=h.kind, actor=h.actor, detail=h.detail) for h in lines]
