"""Row locks that work the same on PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Order


class Missing(LookupError):
    """The row to lock does not exist."""


async def lock_order(session: AsyncSession, order_id: str) -> Order:
    """Lock the order's row until the transaction ends and return it, fresh.

    A no-op UPDATE rather than SELECT … FOR UPDATE: PostgreSQL locks the row either way,
    and SQLite, which has no row locks, takes its one write lock at the first write and
    waits for it (busy timeout), where a read first would fail to upgrade later.
    """
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(Order).where(Order.id == order_id).values(updated_at=Order.updated_at)
        ),
    )
    if result.rowcount == 0:
        raise Missing(order_id)
    order = await session.get(Order, order_id, populate_existing=True)
    assert order is not None
    return order
