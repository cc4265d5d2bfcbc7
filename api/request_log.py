"""One access line per request, with a request id: the caller's `X-Request-ID` (when it is a
sane token) or a new one, returned in the response's `X-Request-ID` and bound to every log
line written while the request runs; the same observation feeds the request metrics.

The route is the one FastAPI matched (`scope["route"]`), read after the response.
prometheus-fastapi-instrumentator, used before for the metrics, matched the path against every
route again on each request (4-8 ms of CPU) and built every router's routes on a new app's
first request (~0.5 s)."""

from __future__ import annotations

import logging
import re
import time
import uuid

import structlog
from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import HttpMiddleware
from api.metrics import ApiMetrics

log = logging.getLogger("chaser.access")

_SANE_ID = re.compile(r"[\w.:-]{1,128}")


def install_request_log(app: FastAPI, metrics: ApiMetrics) -> None:
    app.add_middleware(RequestLog, metrics=metrics)


class RequestLog(HttpMiddleware):
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        super().__init__(app)
        self.metrics = metrics

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
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
                route = getattr(scope.get("route"), "path", None)
                seconds = time.perf_counter() - started
                self.metrics.answered(scope["method"], status, route, seconds)
                path = route or "(no route)"
                log.info(
                    "%s %s %s",
                    scope["method"],
                    path,
                    status,
                    extra={
                        "method": scope["method"],
                        "path": path,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 1),
                    },
                )
