"""A real HTTP receiver for webhooks on loopback: it checks each signature with the
`standardwebhooks` package (an independent implementation of the spec), records what came,
and can be stopped and started again on the same port, or told to refuse."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scripts.devstack.servers import free_port


@dataclass
class Received:
    path: str
    message_id: str
    body: dict[str, Any]
    raw: bytes
    at: float  # time.monotonic() on arrival


@dataclass
class Receiver:
    secret: str
    secrets: dict[str, str] = field(default_factory=dict)  # path -> its endpoint's own secret
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    bad_signatures: int = 0
    # path -> answers to give in turn before 204s, e.g. [(429, {"Retry-After": "1"})]
    answers: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    _server: uvicorn.Server | None = None
    _serving: asyncio.Task[None] | None = None

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _hook(self, request: Request) -> Response:
        raw = await request.body()
        try:
            secret = self.secrets.get(request.url.path, self.secret)
            Webhook(secret).verify(raw, dict(request.headers))
        except WebhookVerificationError:
            self.bad_signatures += 1
            return Response(status_code=400)
        path = request.url.path
        message_id = request.headers["webhook-id"]
        self.received.append(Received(path, message_id, json.loads(raw), raw, time.monotonic()))
        queued = self.answers.get(path)
        if queued:
            status, headers = queued.pop(0)
            return Response(status_code=status, headers=headers)
        return Response(status_code=204)

    async def start(self) -> None:
        app = Starlette(routes=[Route("/{path:path}", self._hook, methods=["POST"])])
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self._serving = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._serving.done():
                self._serving.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Down: connections are refused until start() again."""
        if self._server is not None and self._serving is not None:
            self._server.should_exit = True
            await self._serving
            self._server = self._serving = None

    async def wait_for(self, check: Callable[[], bool], timeout: float = 30) -> None:
        await until(check, timeout, lambda: f"the receiver got only {self.types()}")

    def types(self, path: str | None = None) -> list[str]:
        return [r.body["type"] for r in self.received if path is None or r.path == path]


async def until(
    check: Callable[[], bool | Awaitable[bool]],
    timeout: float = 30,
    what: Callable[[], str] = lambda: "the condition",
) -> None:
    """Poll a condition (sync or async) in real time until it holds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting: {what()}")
        await asyncio.sleep(0.05)
