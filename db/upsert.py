"""Insert-or-ignore on both databases: a duplicate key is an answer, not an error."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


async def insert_or_ignore(
    session: AsyncSession, model: type[DeclarativeBase], values: dict[str, Any]
) -> bool:
    """Insert one row unless its key exists (ON CONFLICT DO NOTHING); True if inserted.
    Two requests with the same key at once: exactly one inserts, neither fails."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING says whether the row went in: psycopg reports no rowcount for this statement.
    key = inspect(model).primary_key
    statement = insert(model).values(**values).on_conflict_do_nothing().returning(*key)
    result = await session.execute(statement)
    return result.first() is not None
