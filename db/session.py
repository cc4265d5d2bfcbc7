"""Engine and session factory: the same code on SQLite (aiosqlite) and PostgreSQL (psycopg)."""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_only

from db.file_turn import FileTurn

Sessions = async_sessionmaker[AsyncSession]
BUSY_TIMEOUT = 30.0  # seconds a SQLite write waits for the lock before "database is locked"


def make_engine(url: str) -> AsyncEngine:
    """An async engine; for a SQLite file, its folder is created and foreign keys enforced."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Connections kept open for the busiest moment (a burst of activities or requests):
        # those past the pool's size are opened and closed for each use otherwise.
        return create_async_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=20)
    database = Path(parsed.database) if parsed.database not in (None, "", ":memory:") else None
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
    # The API and the worker write the same file: wait for the lock rather than fail.
    engine = create_async_engine(url, connect_args={"timeout": BUSY_TIMEOUT})

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL syncs at checkpoints, not at each commit: the one writer is free
        # again without waiting for the disk (POST /v1/orders 70-72/s became 84-95/s under
        # `make bench`). A commit survives any crash of the process, but a power loss may
        # lose the last ones, as it may for the dev server's file beside it (scripts/run.sh).
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    turn = None
    if database is not None:
        turn = FileTurn.beside(database)
        weakref.finalize(engine, turn.close)
    WriterLock(turn=turn).install(engine)
    return engine


WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class WriterLock:
    """First come, first served for SQLite's one writer among this process's connections.

    SQLite lets one connection write at a time; the others wait in its busy handler, which
    sleeps in growing steps and lets a late-comer overtake: with twenty requests in flight
    a write waited seconds for a lock held milliseconds. Here a connection's first write
    waits on an asyncio lock instead, in order of arrival, until the writer before it ends
    its transaction. Then, for a database file, it takes its process's turn (`turn`,
    db.file_turn) from the writers of other processes (the API beside the worker). Waiting
    longer than SQLite's own busy timeout fails as SQLite would have ("database is locked").
    """

    def __init__(self, timeout: float = BUSY_TIMEOUT, turn: FileTurn | None = None) -> None:
        self.timeout = timeout
        self.turn = turn
        # One lock per event loop: a test suite runs several loops over one engine.
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def install(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "before_cursor_execute", self._before_execute)
        event.listen(engine.sync_engine, "commit", self._end)
        event.listen(engine.sync_engine, "rollback", self._end)
        event.listen(engine.sync_engine.pool, "checkin", self._checkin)

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    def _before_execute(self, conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if "writer_lock" in conn.info or not statement.lstrip().upper().startswith(WRITES):
            return
        lock = self._lock()
        try:
            await_only(self._acquire(lock))
        except TimeoutError as error:
            raise OperationalError(
                statement, None, sqlite3.OperationalError("database is locked")
            ) from error
        conn.info["writer_lock"] = lock

    async def _acquire(self, lock: asyncio.Lock) -> None:
        # asyncio.timeout, not wait_for: a cancelled or timed-out wait never holds the lock.
        async with asyncio.timeout(self.timeout):
            await lock.acquire()
            if self.turn is not None:
                try:
                    await self.turn.take()
                except BaseException:
                    lock.release()
                    raise

    def _end(self, conn: Connection) -> None:
        self._release(conn.info)

    def _checkin(self, _dbapi_connection: Any, record: Any) -> None:
        self._release(record.info)  # a connection given back mid-transaction

    def _release(self, info: dict[Any, Any]) -> None:
        lock = info.pop("writer_lock", None)
        if lock is not None:
            if self.turn is not None:
                self.turn.let_go()
            lock.release()


def make_sessions(engine: AsyncEngine) -> Sessions:
    return async_sessionmaker(engine, expire_on_commit=False)
