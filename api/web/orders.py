"""The task page (the order card, the call script, the answer buttons, the timeline) and the
order page. Answers go through the same service as the API, so both refuse the same things."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.deps import ClockDep, SessionDep, SettingsDep, TemporalDep
from api.errors import ApiError, Forbidden, Invalid, NotFound
from api.schemas.tasks import AnswerIn
from api.services import tasks as task_service
from api.services.process import order_process
from api.timeline import timeline
from api.web.i18n import refusal
from api.web.pages import Csrf, ManagerUser, UserDep, WebUser, page, redirect
from db.models import Discount, HistoryEntry, Manager, Order, Subscription, Task

router = APIRouter(prefix="/app", include_in_schema=False)


@router.get("/tasks/{task_id}")
async def task_page(
    request: Request,
    task_id: int,
    user: ManagerUser,
    db: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> HTMLResponse:
    try:
        task = await task_service.visible_task(db, task_id, _manager(user))
    except ApiError as error:
        return _refused(request, user, error)
    return await _task_view(request, user, db, temporal, settings.default_timezone, task)


@router.post("/tasks/{task_id}/answer", dependencies=[Csrf])
async def answer(
    request: Request,
    task_id: int,
    user: ManagerUser,
    db: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    clock: ClockDep,
    answer: Annotated[str, Form(max_length=32)] = "",
    at: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The manager's answer; a refusal is shown on the page and changes nothing."""
    try:
        body = _answer_in(answer, at, note)
        await task_service.answer_task(
            db,
            temporal,
            task_id=task_id,
            manager=_manager(user),
            answer=body.answer,
            at=body.at,
            note=body.note,
            zone=user.timezone,  # the date-time input is in the manager's zone
            now=await clock(),
        )
    except ApiError as error:
        # Nothing of a refused answer stays; reload what the page shows.
        await db.rollback()
        await db.refresh(user.manager)
        task = await db.get(Task, task_id)
        if task is None or isinstance(error, Forbidden | NotFound):
            return _refused(request, user, error)
        return await _task_view(
            request,
            user,
            db,
            temporal,
            settings.default_timezone,
            task,
            error=refusal(error, user.language, user.timezone),
            status_code=error.status_code,
            entered=at,
        )
    return redirect(f"/app/tasks/{task_id}", request)


@router.post("/tasks/{task_id}/release", dependencies=[Csrf])
async def release(
    request: Request, task_id: int, user: ManagerUser, db: SessionDep, clock: ClockDep
) -> Response:
    try:
        await task_service.release_task(
            db, task_id=task_id, manager=_manager(user), now=await clock()
        )
    except ApiError as error:
        return _refused(request, user, error)
    return redirect("/app/tasks", request)


@router.get("/customer-time")
async def customer_time(
    request: Request,
    user: ManagerUser,
    settings: SettingsDep,
    at: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    """The customer's clock for the time being typed (the shop's zone: orders carry none)."""
    zone = settings.default_timezone
    try:
        moment = datetime.fromisoformat(at).replace(tzinfo=ZoneInfo(user.timezone))
        customer = moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        customer = ""
    return page(request, user, "_customer_time.html", customer=customer, zone=zone)


@router.get("/orders/{order_id}")
async def order_page(
    request: Request, order_id: str, user: UserDep, db: SessionDep, temporal: TemporalDep
) -> HTMLResponse:
    order = await db.get(Order, order_id)
    if order is None:
        return _refused(request, user, NotFound("order", order_id))
    if not _may_see(user, order):
        another = Forbidden(
            f"order {order_id} is another manager's", "refused_not_your_order", id=order_id
        )
        return _refused(request, user, another)
    tasks = await _visible_tasks(db, user, order.id)
    return page(request, user, "order.html", tasks=tasks, **await _order_card(db, temporal, order))


@router.get("/orders/{order_id}/next")
async def next_task(
    request: Request, order_id: str, user: ManagerUser, db: SessionDep, after: int = 0
) -> HTMLResponse:
    """The order's next open task for this manager once the chase has opened it (polled)."""
    open_tasks = [
        t for t in await _visible_tasks(db, user, order_id) if t.status == "open" and t.id > after
    ]
    return page(
        request,
        user,
        "_next_task.html",
        task=open_tasks[0] if open_tasks else None,
        order_id=order_id,
        after=after,
    )


def _answer_in(answer: str, at: str, note: str) -> AnswerIn:
    """The form read as the API reads its JSON body: the same rules for every field."""
    try:
        return AnswerIn.model_validate(
            {"answer": answer, "at": at or None, "note": note.strip() or None}
        )
    except ValidationError as error:
        raise Invalid(
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        ) from error


async def _task_view(
    request: Request,
    user: WebUser,
    db: AsyncSession,
    temporal: Client,
    customer_zone: str,
    task: Task,
    error: str | None = None,
    status_code: int = 200,
    entered: str = "",
) -> HTMLResponse:
    order = await db.get(Order, task.order_id) if task.order_id else None
    card = await _order_card(db, temporal, order) if order else {"order": None}
    subscription = (
        await db.get(Subscription, task.subscription_id) if task.subscription_id else None
    )
    response = page(
        request,
        user,
        "task.html",
        task=task,
        subscription=subscription,
        error=error,
        entered=entered,
        customer_zone=customer_zone,
        **card,
    )
    response.status_code = status_code
    return response


async def _order_card(db: AsyncSession, temporal: Client, order: Order) -> dict[str, Any]:
    """The order row, the running process (its query), the latest offer, the timeline."""
    process = None
    if order.chase_started and order.outcome is None:
        # None when no worker answers in time: the stored status still stands.
        process = await order_process(temporal, order.id)
    offer = await db.scalar(
        select(Discount)
        .where(Discount.order_id == order.id)
        .order_by(Discount.created_at.desc(), Discount.id.desc())
    )
    lines = await timeline(db, HistoryEntry.order_id == order.id)
    return {"order": order, "process": process, "offer": offer, "lines": lines}


async def _visible_tasks(db: AsyncSession, user: WebUser, order_id: str) -> list[Task]:
    query = select(Task).where(Task.order_id == order_id).order_by(Task.created_at, Task.id)
    if user.manager is not None:
        query = query.where(or_(Task.assignee_id == user.manager.id, Task.assignee_id.is_(None)))
    return list(await db.scalars(query))


def _may_see(user: WebUser, order: Order) -> bool:
    return user.manager is None or order.assignee_id in (None, user.manager.id)


def _manager(user: WebUser) -> Manager:
    assert user.manager is not None  # ManagerUser guarantees it
    return user.manager


def _refused(request: Request, user: WebUser, error: ApiError) -> HTMLResponse:
    response = page(
        request, user, "error.html", message=refusal(error, user.language, user.timezone)
    )
    response.status_code = error.status_code
    return response
