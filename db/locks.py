"""Row locks that work the same on PostgreSQL and SQLite."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Order, Subscription

Locked = TypeVar("Locked", Order, Subscription)


class Missing(LookupError):
    """The row to lock does not exist."""


async def lock_row(session: AsyncSession, model: type[Locked], row_id: str) -> Locked:
    """Lock the row until the transaction ends and return it, fresh.

    A no-op UPDATE rather than SELECT … FOR UPDATE: PostgreSQL locks the row either way,
    and SQLite, which has no row locks, takes its one write lock at the first write and
    waits for it (busy timeout), where a read first would fail to upgrade later. RETURNING
    reads the locked row in the same statement.
    """
    locked = await session.scalars(
        update(model)
        .where(model.id == row_id)
        .values(updated_at=model.updated_at)
        .returning(model),
        execution_options={"populate_existing": True},
    )
    row = locked.one_or_none()
    if row is None:
        raise Missing(row_id)
    return row
