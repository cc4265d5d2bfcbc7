"""`GET /healthz`: the API can reach its database and Temporal."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import SessionDep, TemporalDep
from api.errors import Unavailable

router = APIRouter()


@router.get("/healthz")
async def healthz(session: SessionDep, temporal: TemporalDep) -> dict[str, str]:
    """200 when the database answers and the Temporal frontend is serving."""
    try:
        await session.execute(text("SELECT 1"))
    except Exception as error:  # any driver error means "not healthy", reported, not raised
        raise Unavailable(f"database unreachable: {type(error).__name__}") from error
    try:
        await temporal.service_client.check_health()
    except Exception as error:
        raise Unavailable(f"temporal unreachable: {type(error).__name__}") from error
    return {"status": "ok"}
