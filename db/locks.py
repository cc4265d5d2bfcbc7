"""Row locks that work the same on PostgreSQL and SQLite."""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from sqlalchemy import Update, bindparam, update
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
        _lock(model), {"row_id": row_id}, execution_options={"populate_existing": True}
    )
    row: Locked | None = locked.one_or_none()
    if row is None:
        raise Missing(row_id)
    return row


@functools.cache
def _lock(model: type[Any]) -> Update:
    """The lock's statement for `model`, built once (db.history says why). It changes nothing
    and RETURNING refreshes the row, so the ORM has no objects to bring in line: without
    `synchronize_session` off it would evaluate the WHERE in Python on every lock."""
    return (
        update(model)
        .where(model.id == bindparam("row_id"))
        .values(updated_at=model.updated_at)
        .returning(model)
        .execution_options(synchronize_session=False)
    )
