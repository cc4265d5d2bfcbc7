"""Insert-or-ignore on both databases: a duplicate key is an answer, not an error."""

from __future__ import annotations

from typing import Any, TypeVar

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
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).values(**values).on_conflict_do_nothing().returning(model)
    inserted: Row | None = await session.scalar(statement)
    return inserted
