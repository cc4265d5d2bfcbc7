"""The task page (the order card, the call script, the answer buttons, the timeline) and the
order page, with the assigned manager's pause and resume. Answers and pauses go through the
same services as the API, so both refuse the same things."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.instalments import covered_parts, plan_of
from api.deps import Caller, ClockDep, Context, ContextDep, SessionDep, SettingsDep
from api.errors import ApiError, Forbidden, Invalid, NotFound
from api.schemas.orders import PauseIn
from api.schemas.tasks import AnswerIn
from api.services import pauses
from api.services import tasks as task_service
from api.services.process import order_process
from api.timeline import timeline
from api.web.i18n import refusal
from api.web.pages import Csrf, ManagerUser, Posted, UserDep, WebUser, page, redirect
from db.models import Discount, HistoryEntry, Manager, Order, Subscription, Task
from domain import TaskStatus

router = APIRouter(prefix="/app", include_in_schema=False)


class AnswerForm(BaseModel):
    """The task page's answer, read as the API reads its JSON body (_answer_in)."""

    answer: str = Field("", max_length=32)
    at: str = Field("", max_length=40)
    number: str = Field("", max_length=10)
    valid_days: str = Field("", max_length=10)
    note: str = Field("", max_length=2000)


class BackForm(BaseModel):
    back: str = Field("", max_length=200)  # the page the form was on (_back)


class PauseForm(BackForm):
    """A pause until a moment of the manager's own time (_pause_in)."""

    until: str = Field("", max_length=40)
    reason: str = Field("", max_length=255)


@router.get("/tasks/{task_id}")
async def task_page(
    request: Request, task_id: int, user: ManagerUser, ctx: ContextDep
) -> HTMLResponse:
    try:
        task = await task_service.visible_task(ctx.session, task_id, _manager(user))
    except ApiError as error:
        return _refused(request, user, error)
    return await _task_view(request, user, ctx, task, await ctx.clock())


@router.post("/tasks/{task_id}/answer", dependencies=[Csrf])
async def answer(
    request: Request,
    task_id: int,
    user: ManagerUser,
    ctx: ContextDep,
    form: Posted[AnswerForm],
) -> Response:
    """The manager's answer; a refusal is shown on the page and changes nothing."""
    db, now = ctx.session, await ctx.clock()
    try:
        body = _answer_in(form)
        await task_service.answer_task(
            db,
            ctx.temporal,
            task_id=task_id,
            manager=_manager(user),
            body=body,
            zone=user.timezone,  # the date-time input is in the manager's zone
            now=now,
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
            ctx,
            task,
            now,
            error=refusal(error, user.language, user.timezone),
            status_code=error.status_code,
            entered=form.at,
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


@router.post("/orders/{order_id}/pause", dependencies=[Csrf])
async def pause(
    request: Request,
    order_id: str,
    user: ManagerUser,
    ctx: ContextDep,
    form: Posted[PauseForm],
) -> Response:
    """Pause the order's chase until a moment of the manager's own time."""
    try:
        body = _pause_in(form, user.timezone)
        caller = Caller(_manager(user))
        now = await ctx.clock()
        await pauses.pause_order(
            ctx.session, ctx.temporal, order_id=order_id, body=body, caller=caller, now=now
        )
    except ApiError as error:
        return _refused(request, user, error)
    return redirect(_back(form.back, order_id), request)


@router.post("/orders/{order_id}/resume", dependencies=[Csrf])
async def resume(
    request: Request,
    order_id: str,
    user: ManagerUser,
    ctx: ContextDep,
    form: Posted[BackForm],
) -> Response:
    """End the pause now."""
    try:
        caller, now = Caller(_manager(user)), await ctx.clock()
        await pauses.resume_order(
            ctx.session, ctx.temporal, order_id=order_id, caller=caller, now=now
        )
    except ApiError as error:
        return _refused(request, user, error)
    return redirect(_back(form.back, order_id), request)


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
    request: Request, order_id: str, user: UserDep, ctx: ContextDep
) -> HTMLResponse:
    order = await ctx.session.get(Order, order_id)
    if order is None:
        return _refused(request, user, NotFound("order", order_id))
    if not _may_see(user, order):
        another = Forbidden(
            f"order {order_id} is another manager's", "refused_not_your_order", id=order_id
        )
        return _refused(request, user, another)
    tasks = await _visible_tasks(ctx.session, user, order.id)
    card = await _order_card(ctx, order, await ctx.clock())
    return page(request, user, "order.html", tasks=tasks, **card)


@router.get("/orders/{order_id}/next")
async def next_task(
    request: Request, order_id: str, user: ManagerUser, db: SessionDep, after: int = 0
) -> HTMLResponse:
    """The order's next open task for this manager once the chase has opened it (polled)."""
    open_tasks = [
        t
        for t in await _visible_tasks(db, user, order_id)
        if t.status == TaskStatus.OPEN and t.id > after
    ]
    return page(
        request,
        user,
        "_next_task.html",
        task=open_tasks[0] if open_tasks else None,
        order_id=order_id,
        after=after,
    )


def _answer_in(form: AnswerForm) -> AnswerIn:
    """The form read as the API reads its JSON body: the same rules for every field."""
    try:
        return AnswerIn.model_validate(
            {
                "answer": form.answer,
                "at": form.at or None,
                "number": form.number.strip() or None,
                "valid_days": form.valid_days.strip() or None,
                "note": form.note.strip() or None,
            }
        )
    except ValidationError as error:
        raise _invalid(error) from error


def _invalid(error: ValidationError) -> Invalid:
    return Invalid("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()))


def _pause_in(form: PauseForm, zone: str) -> PauseIn:
    """The form read as the API reads its JSON body; the time is the manager's wall time."""
    try:
        moment = datetime.fromisoformat(form.until).replace(tzinfo=ZoneInfo(zone))
    except ValueError as error:
        raise Invalid(f"until: {form.until!r} is not a date and time") from error
    try:
        return PauseIn.model_validate({"until": moment, "reason": form.reason})
    except ValidationError as error:
        raise _invalid(error) from error


def _back(back: str, order_id: str) -> str:
    """Back to the page the form was on; anything but one of the app's pages: the order's."""
    return back if back.startswith("/app/") and "//" not in back else f"/app/orders/{order_id}"


async def _task_view(
    request: Request,
    user: WebUser,
    ctx: Context,
    task: Task,
    now: datetime,
    error: str | None = None,
    status_code: int = 200,
    entered: str = "",
) -> HTMLResponse:
    db = ctx.session
    order = await db.get(Order, task.order_id) if task.order_id else None
    card = await _order_card(ctx, order, now) if order else {"order": None}
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
        customer_zone=ctx.settings.default_timezone,
        **card,
    )
    response.status_code = status_code
    return response


async def _order_card(ctx: Context, order: Order, now: datetime) -> dict[str, Any]:
    """The order row, the running process (its query), a pause in force, the latest offer,
    the timeline."""
    db, process, pause = ctx.session, None, None
    if order.chase_started and order.outcome is None:
        # None when no worker answers in time: the stored status still stands.
        process = await order_process(ctx.temporal, order.id)
        pause = await pauses.current_pause(db, order.id, now)
    offer = await db.scalar(
        select(Discount)
        .where(Discount.order_id == order.id)
        .order_by(Discount.created_at.desc(), Discount.id.desc())
    )
    plan = await plan_of(db, order.id)
    covered = covered_parts(order, plan)
    instalments = [(part, "paid" if part.number in covered else part.status) for part in plan]
    lines = await timeline(db, HistoryEntry.order_id == order.id)
    return {
        "order": order,
        "process": process,
        "pause": pause,
        "offer": offer,
        "instalments": instalments,
        "lines": lines,
    }


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
