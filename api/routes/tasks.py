"""Manager tasks: a manager lists the pool and their own tasks, answers or releases them."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from sqlalchemy import or_, select

from api.deps import ClockDep, ContextDep, ManagerDep, SessionDep
from api.errors import Invalid, responses
from api.pagination import PagerDep
from api.schemas.common import Id, from_row
from api.schemas.tasks import AnswerIn, TaskOut
from api.services import tasks
from db.models import Task
from workflows.tasks import TASK_KINDS

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


@router.get("")
async def list_tasks(
    manager: ManagerDep,
    session: SessionDep,
    scope: Literal["mine", "pool", "all"] = "all",
    kind: str | None = None,
    status: Literal["open", "answered", "closed"] | None = "open",
    order_id: Id | None = None,
    subscription_id: Id | None = None,
    *,
    pager: PagerDep,
) -> list[TaskOut]:
    """The tasks a manager may see: their own (mine), unassigned (pool), or both (all);
    oldest first, one page at a time."""
    if kind is not None and kind not in TASK_KINDS:
        raise Invalid(f"kind {kind!r} is not one of {sorted(TASK_KINDS)}")
    query = pager.keyset(select(Task), Task.created_at, Task.id)
    if scope == "mine":
        query = query.where(Task.assignee_id == manager.id)
    elif scope == "pool":
        query = query.where(Task.assignee_id.is_(None))
    else:
        query = query.where(or_(Task.assignee_id == manager.id, Task.assignee_id.is_(None)))
    if kind is not None:
        query = query.where(Task.kind == kind)
    if status is not None:
        query = query.where(Task.status == status)
    if order_id is not None:
        query = query.where(Task.order_id == order_id)
    if subscription_id is not None:
        query = query.where(Task.subscription_id == subscription_id)
    page = pager.page((await session.scalars(query)).all(), lambda t: (t.created_at, t.id))
    return [task_out(task) for task in page]


@router.get("/{task_id}", responses=responses(404))
async def get_task(task_id: int, manager: ManagerDep, session: SessionDep) -> TaskOut:
    """One task, with its call script and allowed answers."""
    return task_out(await tasks.visible_task(session, task_id, manager))


@router.post("/{task_id}/answer", responses=responses(404, 409))
async def answer_task(
    task_id: int, body: AnswerIn, manager: ManagerDep, ctx: ContextDep
) -> TaskOut:
    """Check the answer and claim the task: one answer wins, then its workflow hears it."""
    task = await tasks.answer_task(
        ctx.session,
        ctx.temporal,
        task_id=task_id,
        manager=manager,
        body=body,
        zone=ctx.settings.default_timezone,
        now=await ctx.clock(),
    )
    return task_out(task)


@router.post("/{task_id}/release", responses=responses(404, 409))
async def release_task(
    task_id: int, manager: ManagerDep, session: SessionDep, clock: ClockDep
) -> TaskOut:
    """Give one's own open task back to the shared pool."""
    task = await tasks.release_task(session, task_id=task_id, manager=manager, now=await clock())
    return task_out(task)


def answer_type(task: Task) -> Literal["choice", "datetime", "number"]:
    if task.options:
        return "choice"
    return "number" if task.number_max is not None else "datetime"


def task_out(task: Task) -> TaskOut:
    return from_row(TaskOut, task, answer_type=answer_type(task))
