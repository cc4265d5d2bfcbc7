"""The shop view, for the backend token: outcomes per product with a chart, each manager's
open-task backlog, and the managers with their actions (the same services as the API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import ClockDep, SessionDep, TemporalDep
from api.errors import ApiError
from api.services import managers as manager_service
from api.services.reports import ReportFilter, open_task_lines, outcomes_report
from api.web.i18n import refusal
from api.web.pages import BackendUser, Csrf, WebUser, page, redirect
from db.models import Manager

router = APIRouter(prefix="/app/admin", include_in_schema=False)


@router.get("")
async def shop(
    request: Request, user: BackendUser, db: SessionDep, clock: ClockDep
) -> HTMLResponse:
    return await _shop(request, user, db, await clock())


@router.post("/managers/{manager_id}/deactivate", dependencies=[Csrf])
async def deactivate(
    request: Request,
    manager_id: str,
    user: BackendUser,
    db: SessionDep,
    temporal: TemporalDep,
    clock: ClockDep,
    successor_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    now = await clock()
    try:
        manager, moved = await manager_service.deactivate(
            db,
            temporal,
            manager_id=manager_id,
            successor_id=successor_id or None,
            actor=user.actor,
            now=now,
        )
    except ApiError as error:
        await db.rollback()
        return await _shop(request, user, db, now, refused=error)
    return await _shop(request, user, db, now, done=("moved", manager.id, moved))


@router.post("/managers/{manager_id}/activate", dependencies=[Csrf])
async def activate(
    request: Request, manager_id: str, user: BackendUser, db: SessionDep, clock: ClockDep
) -> Response:
    now = await clock()
    try:
        await manager_service.activate(db, manager_id=manager_id, actor=user.actor, now=now)
    except ApiError as error:
        return await _shop(request, user, db, now, refused=error)
    return redirect("/app/admin", request)


@router.post("/managers/{manager_id}/token", dependencies=[Csrf])
async def new_token(
    request: Request, manager_id: str, user: BackendUser, db: SessionDep, clock: ClockDep
) -> Response:
    """A new token, shown once on the page this answers with (never in a URL)."""
    now = await clock()
    try:
        manager, token = await manager_service.issue_token(
            db, manager_id=manager_id, actor=user.actor, now=now
        )
    except ApiError as error:
        return await _shop(request, user, db, now, refused=error)
    return await _shop(request, user, db, now, done=("token", manager.id, token))


@router.post("/orders/assign", dependencies=[Csrf])
async def assign(
    request: Request,
    user: BackendUser,
    db: SessionDep,
    temporal: TemporalDep,
    clock: ClockDep,
    order_id: Annotated[str, Form(max_length=64)] = "",
    manager_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    now = await clock()
    try:
        await manager_service.assign_order(
            db,
            temporal,
            order_id=order_id.strip(),
            manager_id=manager_id or None,
            actor=user.actor,
            now=now,
        )
    except ApiError as error:
        await db.rollback()
        return await _shop(request, user, db, now, refused=error)
    return redirect(f"/app/orders/{order_id.strip()}", request)


async def _shop(
    request: Request,
    user: WebUser,
    db: AsyncSession,
    now: datetime,
    refused: ApiError | None = None,
    done: tuple[str, str, Any] | None = None,
) -> HTMLResponse:
    """The shop's page, with what the last form did or why it was refused."""
    report = await outcomes_report(db, ReportFilter())
    backlog: dict[str | None, dict[str, Any]] = {}
    for line in await open_task_lines(db):
        entry = backlog.setdefault(line.assignee_id, {"open": 0, "oldest": line.oldest_created_at})
        entry["open"] += line.open
        entry["oldest"] = min(entry["oldest"], line.oldest_created_at)
    everyone = list(await db.scalars(select(Manager).order_by(Manager.id)))
    widest = max((p.orders for p in report.products), default=0)
    response = page(
        request,
        user,
        "admin.html",
        report=report,
        widest=widest,
        backlog=[(who, entry["open"], now - entry["oldest"]) for who, entry in backlog.items()],
        managers=everyone,
        error=refusal(refused, user.language, user.timezone) if refused else None,
        done=done,
    )
    response.status_code = refused.status_code if refused else 200
    return response
