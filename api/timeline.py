"""Reading the timeline of an order, a lead or a subscription from the history table, oldest
line first."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from api.lookup import get_or_404
from api.pagination import Pager
from api.schemas.common import HistoryLine
from db.models import HistoryEntry, Lead, Order, Subscription

# Whose timeline: what a 404 calls it, and the history column that names it.
_OWNERS: dict[type, tuple[str, InstrumentedAttribute[str | None]]] = {
    Order: ("order", HistoryEntry.order_id),
    Lead: ("lead", HistoryEntry.lead_id),
    Subscription: ("subscription", HistoryEntry.subscription_id),
}


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


async def history_of(
    session: AsyncSession, owner: type[Order | Lead | Subscription], key: str, pager: Pager
) -> list[HistoryLine]:
    """A page of the timeline of the row a path names; a 404 when there is none."""
    what, column = _OWNERS[owner]
    await get_or_404(session, owner, what, key)
    return await timeline(session, column == key, pager)
