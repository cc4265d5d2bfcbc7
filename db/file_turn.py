"""Turns between processes at one SQLite file's writer: an exclusive flock on a file beside it.

SQLite's busy handler makes a writer of another process sleep in growing steps (up to 100 ms)
and try again; the writers of a busy process, handing the lock on to each other at once,
overtake it every time. A blocked flock is woken when the lock is let go, so the API and the
worker take turns instead (db.session.WriterLock takes it after its own, in-process turn).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
from pathlib import Path


class FileTurn:
    @classmethod
    def beside(cls, database: Path) -> FileTurn:
        """The turn of a database file: `<file>-writer` in its folder."""
        return cls(database.with_name(f"{database.name}-writer"))

    def __init__(self, path: Path) -> None:
        # One open file per engine: flock is held per open file, so engines (and processes)
        # each wait for the others; within an engine WriterLock lets one writer at a time ask.
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    async def take(self) -> None:
        """Wait for the turn in a thread (a blocked flock cannot be given up); cancelled, the
        thread lets the turn go as soon as it gets it."""
        given_up = threading.Event()

        def wait() -> bool:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            if given_up.is_set():
                self.let_go()
                return False
            return True

        def let_go_if_taken(done: asyncio.Future[bool]) -> None:
            if done.result():  # taken between the thread's check and the cancel
                self.let_go()

        taken = asyncio.get_running_loop().run_in_executor(None, wait)
        try:
            await asyncio.shield(taken)
        except asyncio.CancelledError:
            given_up.set()
            taken.add_done_callback(let_go_if_taken)
            raise

    def let_go(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self.fd)
