"""Manager tasks: a manager lists the pool and their own tasks, and answers them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from sqlalchemy import or_, select

from api.deps import ClockDep, ManagerDep, SessionDep, SettingsDep, TemporalDep
from api.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable, responses
from api.schemas.common import Id, can_be_row_id
from api.schemas.tasks import AnswerIn, TaskOut
from api.services import answers
from api.temporal import query_workflow
from db.models import Manager, Task
from domain import TaskKind, TaskStatus, order_workflow_id
from workflows.order_chase import OrderChase
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
) -> list[TaskOut]:
    """The tasks a manager may see: their own (mine), unassigned (pool), or both (all)."""
    if kind is not None and kind not in TASK_KINDS:
        raise Invalid(f"kind {kind!r} is not one of {sorted(TASK_KINDS)}")
    query = select(Task).order_by(Task.created_at, Task.id)
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
    return [task_out(task) for task in await session.scalars(query)]


@router.get("/{task_id}", responses=responses(404))
async def get_task(task_id: int, manager: ManagerDep, session: SessionDep) -> TaskOut:
    """One task, with its call script and allowed answers."""
    return task_out(await _visible_task(session, task_id, manager))


@router.post("/{task_id}/answer", responses=responses(404, 409))
async def answer_task(
    task_id: int,
    body: AnswerIn,
    manager: ManagerDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> TaskOut:
    """Check the answer and claim the task: one answer wins, then its workflow hears it."""
    task = await _visible_task(session, task_id, manager)
    if task.status != TaskStatus.OPEN:
        raise Conflict(answers.taken(task))
    now = await clock()
    at = None
    if task.options:
        if body.answer not in task.options:
            raise Invalid(f"answer {body.answer!r} is not one of {task.options}")
    else:
        at = await _checked_time(body, task, settings.default_timezone, now, temporal)
    task = await answers.claim(session, task, manager, body.answer, at, body.note, now)
    await answers.deliver(session, temporal, task, now)
    return task_out(task)


async def _visible_task(session: SessionDep, task_id: int, manager: Manager) -> Task:
    task = await session.get(Task, task_id) if can_be_row_id(task_id) else None
    if task is None:
        raise NotFound("task", task_id)
    if task.assignee_id is not None and task.assignee_id != manager.id:
        raise Forbidden(f"task {task_id} is assigned to another manager")
    return task


async def _checked_time(
    body: AnswerIn, task: Task, zone: str, now: datetime, temporal: TemporalDep
) -> datetime:
    """A date-time answer: read in the default zone when naive, future, inside the window."""
    if body.answer != "at" or body.at is None:
        raise Invalid(f"task {task.id} asks for a date-time: send answer 'at' with 'at'")
    at = body.at if body.at.tzinfo is not None else body.at.replace(tzinfo=ZoneInfo(zone))
    if at <= now:
        raise Invalid(f"{at.isoformat()} is in the past")
    if task.order_id is not None:
        state = await query_workflow(temporal, order_workflow_id(task.order_id), OrderChase.state)
        if state is None:
            raise Unavailable(f"the chase of order {task.order_id!r} did not answer in time")
        if at > state.ends_at:
            raise Invalid(
                f"{at.isoformat()} is after the payment window ends ({state.ends_at.isoformat()})"
            )
    return at


def task_out(task: Task) -> TaskOut:
    return TaskOut(
        id=task.id,
        order_id=task.order_id,
        lead_id=task.lead_id,
        kind=TaskKind(task.kind),
        title=task.title,
        call_script=task.call_script,
        options=task.options,
        answer_type="choice" if task.options else "datetime",
        assignee_id=task.assignee_id,
        status=TaskStatus(task.status),
        close_reason=task.close_reason,
        created_at=task.created_at,
        answered_at=task.answered_at,
        answer=task.answer,
        answer_at=task.answer_at,
        note=task.note,
        answered_by=task.answered_by,
    )
