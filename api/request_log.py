"""One access line per request, with a request id: the caller's `X-Request-ID` (when it is a
sane token) or a new one, returned in the response's `X-Request-ID` and bound to every log
line written while the request runs."""

from __future__ import annotations

import logging
import re
import time
import uuid

import structlog
from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("chaser.access")

_SANE_ID = re.compile(r"[\w.:-]{1,128}")


def install_request_log(app: FastAPI) -> None:
    app.add_middleware(RequestLog)


class RequestLog:
    """Plain ASGI (not `@app.middleware`, whose extra task and streams cost ~0.5 ms a request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        request_id = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex
        status = 500  # unless a response starts

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                # The route's template, never the query string: no token or address is logged.
                path = getattr(scope.get("route"), "path", None) or "(no route)"
                log.info(
                    "%s %s %s",
                    scope["method"],
                    path,
                    status,
                    extra={
                        "method": scope["method"],
                        "path": path,
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
