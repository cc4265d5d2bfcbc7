"""Reading the timeline of an order, a lead or a subscription from the history table, oldest
line first."""

# No `from __future__ import annotations`: FastAPI reads the history route's path parameter,
# named for its owner, from the annotation as it is built.
from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from api.deps import BackendDep, SessionDep
from api.errors import responses
from api.lookup import get_or_404
from api.pagination import Pager, PagerDep
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


def add_history_route(
    router: APIRouter, owner: type[Order | Lead | Subscription], description: str
) -> None:
    """`GET /{<owner>_id}/history` on the owner's router: a page of its timeline."""
    what, _ = _OWNERS[owner]

    async def history(
        key: Annotated[str, Path(alias=f"{what}_id")],
        session: SessionDep,
        _: BackendDep,
        pager: PagerDep,
    ) -> list[HistoryLine]:
        return await history_of(session, owner, key, pager)

    router.add_api_route(
        f"/{{{what}_id}}/history",
        history,
        methods=["GET"],
        name=f"get_{what}_history",
        description=description,
        responses=responses(404),
    )
