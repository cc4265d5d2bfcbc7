"""The suppression list (backend token): addresses that get no marketing email."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from api.deps import BackendDep, ClockDep, SessionDep
from api.errors import NotFound, responses
from api.schemas.suppressions import SuppressionIn, SuppressionOut
from db.models import Suppression
from db.suppressions import suppress, suppression_of

router = APIRouter(prefix="/v1/suppressions", tags=["suppressions"])


@router.get("")
async def list_suppressions(session: SessionDep, _: BackendDep) -> list[SuppressionOut]:
    """Every suppressed address, newest first."""
    rows = await session.scalars(select(Suppression).order_by(Suppression.created_at.desc()))
    return [_out(row) for row in rows]


@router.post(
    "",
    status_code=201,
    responses={200: {"model": SuppressionOut, "description": "The address was on the list"}},
)
async def add_suppression(
    body: SuppressionIn, response: Response, session: SessionDep, clock: ClockDep, _: BackendDep
) -> SuppressionOut:
    """Suppress an address; one already on the list keeps its first reason (200)."""
    if not await suppress(session, body.email, body.reason, await clock(), body.detail):
        response.status_code = 200
    await session.commit()
    row = await suppression_of(session, body.email)
    assert row is not None
    return _out(row)


@router.delete("/{email}", status_code=204, response_class=Response, responses=responses(404))
async def remove_suppression(email: str, session: SessionDep, _: BackendDep) -> Response:
    """Marketing email may reach the address again (it subscribed anew, or was fixed)."""
    # A key no address can be (a NUL, ten kilobytes) is simply not found.
    fits = len(email) <= 320 and "\x00" not in email
    row = await suppression_of(session, email) if fits else None
    if row is None:
        raise NotFound("suppression", email)
    await session.delete(row)
    await session.commit()
    return Response(status_code=204)


def _out(row: Suppression) -> SuppressionOut:
    return SuppressionOut(
        email=row.email, reason=row.reason, detail=row.detail, created_at=row.created_at
    )
