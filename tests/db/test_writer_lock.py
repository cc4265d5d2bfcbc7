"""SQLite's one writer, taken first come first served within a process (db.session.WriterLock)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from db.session import WriterLock, make_engine, make_sessions

WRITERS = 12  # within the engine's pool (5 + 10 overflow)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/lock.db")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE line (n INTEGER)"))
    yield engine
    await engine.dispose()


async def test_writers_commit_in_the_order_they_asked(engine: AsyncEngine) -> None:
    sessions = make_sessions(engine)
    asked: list[int] = []

    # Who reaches the lock when: a listener that runs just before the lock's own.
    @event.listens_for(engine.sync_engine, "before_cursor_execute", insert=True)
    def _arrives(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("INSERT"):
            asked.append(parameters[0])

    async def write(n: int) -> None:
        async with sessions() as session:
            await session.execute(text("INSERT INTO line (n) VALUES (:n)"), {"n": n})
            await asyncio.sleep(0.01)  # the write lock is held across an await
            await session.commit()

    await asyncio.gather(*(write(n) for n in range(WRITERS)))
    async with sessions() as session:
        written = list((await session.scalars(text("SELECT n FROM line ORDER BY rowid"))).all())
    assert sorted(written) == list(range(WRITERS))
    assert written == asked


async def test_a_writer_waiting_past_the_timeout_fails_as_sqlite_would(
    tmp_path: Path,
) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/lock.db")
    WriterLock(timeout=0.2).install(engine)
    sessions = make_sessions(engine)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE line (n INTEGER)"))
        async with sessions() as holder, sessions() as waiter:
            await holder.execute(text("INSERT INTO line (n) VALUES (1)"))
            with pytest.raises(OperationalError, match="database is locked"):
                await waiter.execute(text("INSERT INTO line (n) VALUES (2)"))
            await holder.commit()
    finally:
        await engine.dispose()
