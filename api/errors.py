"""Domain errors the routes raise, and the one place that maps them to HTTP statuses.

Every error answer has one shape, `{"detail": "<sentence>"}` (schemas.common.ErrorOut),
including FastAPI's own validation errors and Temporal being out of reach.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from api.schemas.common import ErrorOut

logger = logging.getLogger(__name__)

# How long a client should wait before retrying when Temporal or a worker is out of reach.
RETRY_AFTER_SECONDS = 5


class ApiError(Exception):
    status_code = 400

    def __init__(self, detail: str, words: str | None = None, **values: object) -> None:
        """`detail` is the API's English sentence; `words` names the same sentence in the web
        app's words (api/web/i18n.py), said there in the manager's language with `values`."""
        super().__init__(detail)
        self.detail = detail
        self.words = words
        self.values = values

    def headers(self) -> dict[str, str] | None:
        return None


class NotFound(ApiError):
    status_code = 404

    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} {key!r} not found", f"no_{what}", key=key)


class Conflict(ApiError):
    """The request is well formed but clashes with the current state."""

    status_code = 409


def order_closed(order_id: str, status: str) -> Conflict:
    """The refusal of a change to an order that is paid or cancelled."""
    return Conflict(
        f"order {order_id!r} is already {status}",
        "refused_order_closed",
        id=order_id,
        status=status,
    )


class Invalid(ApiError):
    status_code = 422


class Unauthorized(ApiError):
    status_code = 401

    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(ApiError):
    status_code = 403


class TooLarge(ApiError):
    status_code = 413


class Unavailable(ApiError):
    """A dependency (Temporal, a worker, the database) did not answer: try again shortly."""

    status_code = 503

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(RETRY_AFTER_SECONDS)}


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(
        ErrorOut(detail=error.detail).model_dump(),
        status_code=error.status_code,
        headers=error.headers(),
    )


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer, all with ErrorOut."""
    return {code: {"model": ErrorOut, "description": _MEANING[code]} for code in codes}


_MEANING = {
    401: "No bearer token, or an unknown one",
    403: "The token is valid but not for this route (backend versus manager)",
    404: "No such resource",
    409: "The request clashes with the resource's current state",
    413: "The request body is larger than 1 MiB",
    422: "The request is malformed; the detail names the field",
    503: "Temporal or a worker did not answer in time; retry after Retry-After seconds",
}


async def _api_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return error_response(error)


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    """FastAPI's list of problems, said as one sentence per problem."""
    assert isinstance(error, RequestValidationError)
    problems = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem.get("loc", ()) if part != "body")
        problems.append(f"{where}: {problem.get('msg', 'invalid')}" if where else problem["msg"])
    return error_response(Invalid("; ".join(problems) or "invalid request"))


async def _http_error(_: Request, error: Exception) -> JSONResponse:
    """Starlette's own refusals in our shape; a body it cannot parse is malformed (422)."""
    assert isinstance(error, StarletteHTTPException)
    status = 422 if error.status_code == 400 else error.status_code
    return JSONResponse(
        ErrorOut(detail=str(error.detail)).model_dump(),
        status_code=status,
        headers=getattr(error, "headers", None),
    )


async def _temporal_error(_: Request, error: Exception) -> JSONResponse:
    """Temporal out of reach (or a query no worker answered): 503, never a 500."""
    logger.warning("temporal did not answer: %s", error)
    return error_response(Unavailable("Temporal did not answer in time; retry shortly"))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RPCError, _temporal_error)
    app.add_exception_handler(WorkflowQueryFailedError, _temporal_error)
