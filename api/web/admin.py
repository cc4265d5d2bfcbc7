"""The shop view, for the backend token: outcomes per product with a chart, each manager's
open-task backlog, and the managers with their actions (the same services as the API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import ClockDep, SessionDep, TemporalDep
from api.errors import ApiError
from api.services import managers as manager_service
from api.services.reports import ReportFilter, open_task_lines, outcomes_report
from api.web.i18n import refusal
from api.web.pages import BackendUser, Csrf, Posted, WebUser, page, redirect
from db.models import Manager

router = APIRouter(prefix="/app/admin", include_in_schema=False)

# What a form did, for the page to say: ("moved", manager id, orders moved), ("token", id, token).
Done = tuple[str, str, Any]


@dataclass(frozen=True)
class ShopPage:
    """The shop's page as a request shows it; a form's action answers with it."""

    request: Request
    user: WebUser
    db: AsyncSession
    now: datetime

    async def refused(self, error: ApiError) -> HTMLResponse:
        """The page saying why a form was refused; nothing of what it began stays."""
        await self.db.rollback()
        return await self.show(refused=error)

    async def show(self, refused: ApiError | None = None, done: Done | None = None) -> HTMLResponse:
        """The page, with what the last form did or why it was refused."""
        report = await outcomes_report(self.db, ReportFilter())
        backlog: dict[str | None, dict[str, Any]] = {}
        for line in await open_task_lines(self.db):
            oldest = line.oldest_created_at
            entry = backlog.setdefault(line.assignee_id, {"open": 0, "oldest": oldest})
            entry["open"] += line.open
            entry["oldest"] = min(entry["oldest"], oldest)
        everyone = list(await self.db.scalars(select(Manager).order_by(Manager.id)))
        user = self.user
        response = page(
            self.request,
            user,
            "admin.html",
            report=report,
            widest=max((p.orders for p in report.products), default=0),
            backlog=[(who, e["open"], self.now - e["oldest"]) for who, e in backlog.items()],
            managers=everyone,
            error=refusal(refused, user.language, user.timezone) if refused else None,
            done=done,
        )
        response.status_code = refused.status_code if refused else 200
        return response


async def shop_page(
    request: Request, user: BackendUser, db: SessionDep, clock: ClockDep
) -> ShopPage:
    return ShopPage(request, user, db, await clock())


ShopDep = Annotated[ShopPage, Depends(shop_page)]


class DeactivateForm(BaseModel):
    successor_id: str = Field("", max_length=64)  # empty: their work goes to the pool


class AssignForm(BaseModel):
    order_id: Annotated[str, AfterValidator(str.strip)] = Field("", max_length=64)  # as pasted
    manager_id: str = Field("", max_length=64)  # empty: back to the pool


@router.get("")
async def shop(shop: ShopDep) -> HTMLResponse:
    return await shop.show()


@router.post("/managers/{manager_id}/deactivate", dependencies=[Csrf])
async def deactivate(
    manager_id: str, shop: ShopDep, temporal: TemporalDep, form: Posted[DeactivateForm]
) -> Response:
    try:
        manager, moved = await manager_service.deactivate(
            shop.db,
            temporal,
            manager_id=manager_id,
            successor_id=form.successor_id or None,
            actor=shop.user.actor,
            now=shop.now,
        )
    except ApiError as error:
        return await shop.refused(error)
    return await shop.show(done=("moved", manager.id, moved))


@router.post("/managers/{manager_id}/activate", dependencies=[Csrf])
async def activate(manager_id: str, shop: ShopDep) -> Response:
    try:
        await manager_service.activate(
            shop.db, manager_id=manager_id, actor=shop.user.actor, now=shop.now
        )
    except ApiError as error:
        return await shop.refused(error)
    return redirect("/app/admin", shop.request)


@router.post("/managers/{manager_id}/token", dependencies=[Csrf])
async def new_token(manager_id: str, shop: ShopDep) -> Response:
    """A new token, shown once on the page this answers with (never in a URL)."""
    try:
        manager, token = await manager_service.issue_token(
            shop.db, manager_id=manager_id, actor=shop.user.actor, now=shop.now
        )
    except ApiError as error:
        return await shop.refused(error)
    return await shop.show(done=("token", manager.id, token))


@router.post("/orders/assign", dependencies=[Csrf])
async def assign(shop: ShopDep, temporal: TemporalDep, form: Posted[AssignForm]) -> Response:
    try:
        await manager_service.assign_order(
            shop.db,
            temporal,
            order_id=form.order_id,
            manager_id=form.manager_id or None,
            actor=shop.user.actor,
            now=shop.now,
        )
    except ApiError as error:
        return await shop.refused(error)
    return redirect(f"/app/orders/{form.order_id}", shop.request)
