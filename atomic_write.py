"""Writing a file whole, off the event loop: the file backends of email and SMS use it."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path


async def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder, so a reader never
    sees half a file and a rewrite replaces it whole. The disk work runs in a thread: a slow
    disk must not stall the worker's event loop, which runs every other activity too."""
    await asyncio.to_thread(_write, path, data)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
