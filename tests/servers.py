"""The local servers' binaries that `make` built, and free loopback ports: shared by the test
suite and the scripts that run the same stack (recording histories, the benchmark)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

CACHE = Path(os.environ.get("CHASER_CACHE", Path.home() / ".cache" / "chaser"))


def cached_binary(env_var: str, name: str) -> str | None:
    """A server binary the Makefile installed; None lets the SDK download its own."""
    path = os.environ.get(env_var) or str(CACHE / "bin" / name)
    return path if Path(path).is_file() else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
