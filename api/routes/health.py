"""`GET /healthz` (liveness: the process answers) and `GET /readyz` (it can do its work: the
database, Temporal, and a worker polling the task queue)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from temporalio.client import Client

from api.deps import MaybeTemporalDep, SessionDep, SettingsDep
from api.errors import RETRY_AFTER_SECONDS
from temporal_client import worker_polling

router = APIRouter(tags=["health"])

# Each check answers within this, so that a hung dependency reads as down, fast.
CHECK_TIMEOUT = 3.0


class Liveness(BaseModel):
    status: Literal["ok"]
    temporal: Literal["connected", "connecting"]


class Readiness(BaseModel):
    """Each check is "ok" or why not. A 503 carries the same body with a `detail` sentence."""

    status: Literal["ready", "unavailable"]
    checks: dict[str, str]


@router.get("/healthz")
async def healthz(temporal: MaybeTemporalDep) -> Liveness:
    """Liveness: 200 whenever the process answers; says whether Temporal is connected yet."""
    return Liveness(status="ok", temporal="connected" if temporal else "connecting")


@router.get("/readyz", response_model=Readiness)
async def readyz(
    session: SessionDep, temporal: MaybeTemporalDep, settings: SettingsDep
) -> JSONResponse:
    """Readiness: 200 when every check is "ok", else 503 with what is down."""
    checks = {
        "database": await _check(session.execute(text("SELECT 1"))),
        "temporal": "not connected yet",
        "worker": "unknown: Temporal is not connected",
    }
    if temporal is not None:
        checks["temporal"] = await _check(temporal.service_client.check_health())
        if checks["temporal"] == "ok":
            checks["worker"] = await _check(_worker_polling(temporal, settings.temporal_task_queue))
    down = [f"{name}: {state}" for name, state in checks.items() if state != "ok"]
    if not down:
        return JSONResponse(Readiness(status="ready", checks=checks).model_dump())
    # The error shape of every 503 (`detail`), with the checks beside it.
    unavailable = Readiness(status="unavailable", checks=checks).model_dump()
    body = {"detail": "; ".join(down), **unavailable}
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


async def _check(probe: Awaitable[Any]) -> str:
    """ "ok", or why not: any error of the probe means "down", reported, not raised."""
    try:
        result = await asyncio.wait_for(probe, CHECK_TIMEOUT)
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT:.0f} s"
    except Exception as error:
        return f"down: {type(error).__name__}: {error}"
    return result if isinstance(result, str) else "ok"


async def _worker_polling(temporal: Client, task_queue: str) -> str:
    polling = await worker_polling(temporal, task_queue)
    return "ok" if polling else f"no worker polling task queue {task_queue!r}"
