"""One access line per request, with a request id: the caller's `X-Request-ID` (when it is a
sane token) or a new one, returned in the response's `X-Request-ID` and bound to every log
line written while the request runs."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from fastapi import FastAPI, Request, Response

log = logging.getLogger("chaser.access")

_SANE_ID = re.compile(r"[\w.:-]{1,128}")


def install_request_log(app: FastAPI) -> None:
    @app.middleware("http")
    async def request_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        given = request.headers.get("x-request-id", "")
        request_id = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            response = await call_next(request)
            route = request.scope.get("route")
            # The route's template, never the query string: no token or address gets logged.
            path = getattr(route, "path", None) or "(no route)"
            log.info(
                "%s %s %s",
                request.method,
                path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        response.headers["X-Request-ID"] = request_id
        return response
