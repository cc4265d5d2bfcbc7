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

from db.file_turn import FileTurn
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


async def test_a_writer_of_another_process_waits_for_the_turn_and_a_timed_out_one_leaves_it(
    tmp_path: Path,
) -> None:
    """Two engines on one file stand for the API and the worker: each has its own open file
    for the turn (db.file_turn), as two processes would."""
    path = tmp_path / "lock.db"
    worker = make_engine(f"sqlite+aiosqlite:///{path}")
    api = create_async_engine(f"sqlite+aiosqlite:///{path}")
    WriterLock(timeout=0.2, turn=FileTurn.beside(path)).install(api)
    try:
        async with worker.begin() as connection:
            await connection.execute(text("CREATE TABLE line (n INTEGER)"))
        async with make_sessions(worker)() as holder, make_sessions(api)() as waiter:
            await holder.execute(text("INSERT INTO line (n) VALUES (1)"))
            # The turn is held: the other process's writer waits for it, then gives up.
            with pytest.raises(OperationalError, match="database is locked"):
                await waiter.execute(text("INSERT INTO line (n) VALUES (2)"))
            await holder.commit()
        # The writer that gave up holds nothing: the turn goes to the next one at once.
        async with make_sessions(worker)() as session:
            await asyncio.wait_for(session.execute(text("INSERT INTO line (n) VALUES (3)")), 2)
            await session.commit()
        async with make_sessions(api)() as session:
            await session.execute(text("INSERT INTO line (n) VALUES (4)"))
            await session.commit()
            written = list((await session.scalars(text("SELECT n FROM line ORDER BY n"))).all())
        assert written == [1, 3, 4]
    finally:
        await api.dispose()
        await worker.dispose()


async def test_a_database_file_is_in_wal_mode_synced_at_checkpoints_with_foreign_keys(
    engine: AsyncEngine,
) -> None:
    """Every connection of the engine: WAL, synchronous=NORMAL (1), foreign keys enforced."""
    async with engine.connect() as first, engine.connect() as second:
        for connection in (first, second):
            assert (await connection.scalar(text("PRAGMA journal_mode"))) == "wal"
            assert (await connection.scalar(text("PRAGMA synchronous"))) == 1
            assert (await connection.scalar(text("PRAGMA foreign_keys"))) == 1
