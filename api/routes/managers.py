"""Managers: the backend registers them, lists and edits them, issues new tokens, and
deactivates them with a successor; orders are re-assigned in `orders.py`."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.deps import BackendDep, ClockDep, ContextDep, SessionDep, SettingsDep, hash_token
from api.errors import Conflict, responses
from api.schemas.common import from_row
from api.schemas.managers import (
    Deactivated,
    DeactivateIn,
    ManagerCreated,
    ManagerIn,
    ManagerOut,
    ManagerPatch,
    NewToken,
)
from api.services import managers
from db.models import Manager

router = APIRouter(prefix="/v1/managers", tags=["managers"])


@router.post("", status_code=201, responses=responses(409))
async def create_manager(
    body: ManagerIn, session: SessionDep, settings: SettingsDep, clock: ClockDep, _: BackendDep
) -> ManagerCreated:
    """Register a manager; the response carries the bearer token for the tasks API."""
    token = managers.new_token()
    manager = Manager(
        id=body.id,
        name=body.name,
        email=body.email,
        signature=body.signature,
        language=body.language or settings.default_language,
        timezone=body.timezone or settings.default_timezone,
        working_hours=body.working_hours,
        active=True,
        token_hash=hash_token(token),
        created_at=await clock(),
    )
    session.add(manager)
    try:
        await session.commit()
    except IntegrityError as error:
        raise Conflict(f"manager {body.id!r} already exists") from error
    return ManagerCreated(**manager_out(manager).model_dump(), token=token)


@router.get("")
async def list_managers(session: SessionDep, _: BackendDep) -> list[ManagerOut]:
    """Every manager, active or not, by id."""
    return [manager_out(m) for m in await session.scalars(select(Manager).order_by(Manager.id))]


@router.get("/{manager_id}", responses=responses(404))
async def get_manager(manager_id: str, session: SessionDep, _: BackendDep) -> ManagerOut:
    return manager_out(await managers.get_manager(session, manager_id))


@router.patch("/{manager_id}", responses=responses(404, 409))
async def update_manager(
    manager_id: str, body: ManagerPatch, ctx: ContextDep, _: BackendDep
) -> ManagerOut:
    """Change the fields given; `active: false` deactivates (open work back to the pool)."""
    session = ctx.session
    manager = await managers.get_manager(session, manager_id)
    for field, value in body.model_dump(exclude_none=True, exclude={"active"}).items():
        setattr(manager, field, value)
    now = await ctx.clock()
    if body.active is False and manager.active:
        manager, _moved = await managers.deactivate(
            session,
            ctx.temporal,
            manager_id=manager_id,
            successor_id=None,
            actor="backend",
            now=now,
        )
    elif body.active is True:
        manager = await managers.activate(session, manager_id=manager_id, actor="backend", now=now)
    await session.commit()
    return manager_out(manager)


@router.post("/{manager_id}/token", responses=responses(404))
async def issue_token(
    manager_id: str, session: SessionDep, clock: ClockDep, _: BackendDep
) -> NewToken:
    """A new token for the manager; the old one stops working at once (signed-in pages too)."""
    manager, token = await managers.issue_token(
        session, manager_id=manager_id, actor="backend", now=await clock()
    )
    return NewToken(id=manager.id, token=token)


@router.post("/{manager_id}/deactivate", responses=responses(404, 409))
async def deactivate_manager(
    manager_id: str, body: DeactivateIn, ctx: ContextDep, _: BackendDep
) -> Deactivated:
    """They can no longer sign in or answer; their open orders and tasks go to the successor
    (or the pool), and the running chases send the later tasks there."""
    manager, moved = await managers.deactivate(
        ctx.session,
        ctx.temporal,
        manager_id=manager_id,
        successor_id=body.successor_id,
        actor="backend",
        now=await ctx.clock(),
    )
    return Deactivated(
        manager=manager_out(manager), successor_id=body.successor_id, orders_moved=moved
    )


def manager_out(manager: Manager) -> ManagerOut:
    return from_row(ManagerOut, manager)
