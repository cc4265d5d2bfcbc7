"""Domain errors the routes raise, and the one place that maps them to HTTP statuses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class ApiError(Exception):
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ApiError):
    status_code = 404

    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} {key!r} not found")


class Conflict(ApiError):
    """The request is well formed but clashes with the current state."""

    status_code = 409


class Invalid(ApiError):
    status_code = 422


class Unauthorized(ApiError):
    status_code = 401


class Forbidden(ApiError):
    status_code = 403


class Unavailable(ApiError):
    """A dependency is down: the client should retry after `retry_after` seconds."""

    status_code = 503

    def __init__(self, detail: str, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


async def _api_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    headers = None
    if isinstance(error, Unauthorized):
        headers = {"WWW-Authenticate": "Bearer"}
    elif isinstance(error, Unavailable):
        headers = {"Retry-After": str(error.retry_after)}
    return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
