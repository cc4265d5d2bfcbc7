"""Answering and releasing a manager's task: the checks and the writes the API and the web
app share, so both refuse the same things."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError

from api.chases import order_workflow_id, signal_workflow
from api.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from db.history import record
from db.models import Manager, Task
from workflows.dial import Dial
from workflows.order_chase import OrderChase
from workflows.tasks import TaskAnswer


async def visible_task(session: AsyncSession, task_id: int, manager: Manager) -> Task:
    """A task in the pool or the manager's own; another manager's is forbidden."""
    task = await session.get(Task, task_id)
    if task is None:
        raise NotFound("task", task_id)
    if task.assignee_id is not None and task.assignee_id != manager.id:
        raise Forbidden(f"task {task_id} is assigned to another manager")
    return task


async def answer_task(
    session: AsyncSession,
    temporal: Client,
    *,
    task_id: int,
    manager: Manager,
    answer: str,
    at: datetime | None,
    note: str | None,
    zone: str,
    now: datetime,
) -> Task:
    """Check the answer, store it, and signal the workflow that waits for it."""
    task = await visible_task(session, task_id, manager)
    if task.status == "answered":
        raise Conflict(f"task {task_id} was already answered by {task.answered_by}")
    if task.status != "open":
        raise Conflict(f"task {task_id} is {task.status}, it takes no answer")
    answer_at = None
    if task.options:
        if answer not in task.options:
            raise Invalid(f"answer {answer!r} is not one of {task.options}")
    else:
        answer_at = await _checked_time(answer, at, task, zone, now, temporal)

    task.status, task.answer, task.answer_at = "answered", answer, answer_at
    task.answered_at, task.answered_by, task.note = now, manager.id, note
    record(
        session,
        order_id=task.order_id,
        lead_id=task.lead_id,
        at=now,
        actor=f"manager:{manager.id}",
        kind="call_result" if task.kind == "call" else "task_answered",
        task_id=task.id,
        task_kind=task.kind,
        answer=answer,
        at_time=answer_at.isoformat() if answer_at else None,
        note=note,
    )
    await session.flush()
    signal = Dial.answer_task if task.kind == "call" else OrderChase.answer_task
    await signal_workflow(
        temporal, task.workflow_id, signal, TaskAnswer(task.id, answer, manager.id, answer_at)
    )
    await session.commit()
    return task


async def release_task(
    session: AsyncSession, *, task_id: int, manager: Manager, now: datetime
) -> Task:
    """Give one's own open task back to the shared pool."""
    task = await visible_task(session, task_id, manager)
    if task.status != "open":
        raise Conflict(f"task {task_id} is {task.status}: there is nothing to release")
    if task.assignee_id is None:
        raise Conflict(f"task {task_id} is already in the pool")
    task.assignee_id = None
    record(
        session,
        order_id=task.order_id,
        lead_id=task.lead_id,
        at=now,
        actor=f"manager:{manager.id}",
        kind="task_released",
        task_id=task.id,
        task_kind=task.kind,
    )
    await session.commit()
    return task


async def _checked_time(
    answer: str, at: datetime | None, task: Task, zone: str, now: datetime, temporal: Client
) -> datetime:
    """A date-time answer: read in `zone` when naive, future, inside the payment window."""
    if answer != "at" or at is None:
        raise Invalid(f"task {task.id} asks for a date-time: send answer 'at' with 'at'")
    at = at if at.tzinfo is not None else at.replace(tzinfo=ZoneInfo(zone))
    if at <= now:
        raise Invalid(f"{at.isoformat()} is in the past")
    if task.order_id is not None:
        try:
            state = await temporal.get_workflow_handle(order_workflow_id(task.order_id)).query(
                OrderChase.state
            )
        except RPCError as error:
            raise Unavailable(f"the chase of order {task.order_id!r} did not answer") from error
        if at > state.ends_at:
            raise Invalid(
                f"{at.isoformat()} is after the payment window ends ({state.ends_at.isoformat()})"
            )
    return at
