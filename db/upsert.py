"""Insert-or-ignore on both databases: a duplicate key is an answer, not an error."""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

Row = TypeVar("Row", bound=DeclarativeBase)


async def insert_or_ignore(
    session: AsyncSession, model: type[Row], values: dict[str, Any]
) -> Row | None:
    """Insert one row unless its key exists (ON CONFLICT DO NOTHING): the row inserted, None
    when the key was there. Two requests with the same key at once: exactly one inserts,
    neither fails. The row comes back from RETURNING into the session, so reading it again
    (`session.get`) costs no statement."""
    statement = _insert_or_ignore(session.get_bind().dialect.name, model)
    inserted: Row | None = await session.scalar(statement, values)
    return inserted


@functools.cache
def _insert_or_ignore(dialect: str, model: type[Any]) -> Insert:
    """The statement for one model, built once (db.history says why); the row's values come
    with each execution."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).on_conflict_do_nothing().returning(model)
