"""Answering and releasing a manager's task: the checks the API and the web app share, so
both refuse the same things; the answer itself is claimed and delivered by api.services.answers."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from api.schemas.common import can_be_row_id
from api.schemas.tasks import AnswerIn
from api.services import answers
from api.temporal import query_workflow
from db.history import record_on
from db.models import Manager, Task
from domain import TaskKind, TaskStatus, order_workflow_id
from workflows.order_chase import OrderChase


async def visible_task(session: AsyncSession, task_id: int, manager: Manager) -> Task:
    """A task in the pool or the manager's own; another manager's is forbidden."""
    task = await session.get(Task, task_id) if can_be_row_id(task_id) else None
    if task is None:
        raise NotFound("task", task_id)
    if task.assignee_id is not None and task.assignee_id != manager.id:
        raise Forbidden(
            f"task {task_id} is assigned to another manager", "refused_not_yours", id=task_id
        )
    return task


async def answer_task(
    session: AsyncSession,
    temporal: Client,
    *,
    task_id: int,
    manager: Manager,
    body: AnswerIn,
    zone: str,
    now: datetime,
) -> Task:
    """Check the answer and claim the task: one answer wins, then its workflow hears it.
    A naive `at` is read in `zone` (the API's default zone, the web app's manager's)."""
    answer, at = body.answer, body.at
    # A choice takes no number, a number question a validity only when it is a discount.
    number, valid_days = body.number, body.valid_days
    task = await visible_task(session, task_id, manager)
    if task.status != TaskStatus.OPEN:
        raise answers.taken(task)
    answer_at = None
    if task.options:
        if answer not in task.options:
            raise Invalid(
                f"answer {answer!r} is not one of {task.options}", "refused_answer", answer=answer
            )
        number = valid_days = None
    elif task.number_max is not None:
        _check_number(answer, number, task)
        if task.kind == TaskKind.DISCOUNT:
            if (at is None) == (valid_days is None):
                raise Invalid(
                    f"task {task.id} asks how long the discount holds: send 'valid_days' "
                    "or 'at' (not both)",
                    "refused_no_validity",
                )
            if at is not None:
                answer_at = await _checked_time("at", at, task, zone, now, temporal)
        else:
            valid_days = None
    else:
        answer_at = await _checked_time(answer, at, task, zone, now, temporal)
        number = valid_days = None
    checked = answers.Answer(answer, answer_at, number, valid_days, body.note)
    task = await answers.claim(session, task, manager, checked, now)
    await answers.deliver(session, temporal, task, now)
    return task


async def release_task(
    session: AsyncSession, *, task_id: int, manager: Manager, now: datetime
) -> Task:
    """Give one's own open task back to the shared pool."""
    task = await visible_task(session, task_id, manager)
    if task.status != TaskStatus.OPEN:
        raise Conflict(
            f"task {task_id} is {task.status}: there is nothing to release",
            "refused_release",
            id=task_id,
        )
    if task.assignee_id is None:
        raise Conflict(f"task {task_id} is already in the pool", "refused_in_pool", id=task_id)
    task.assignee_id = None
    record_on(
        session,
        task,
        at=now,
        actor=f"manager:{manager.id}",
        kind="task_released",
        task_id=task.id,
        task_kind=task.kind,
    )
    await session.commit()
    return task


def _check_number(answer: str, number: int | None, task: Task) -> None:
    """A number question's answer: `number`, between the task's bounds."""
    if answer != "number" or number is None:
        raise Invalid(
            f"task {task.id} asks for a number: send answer 'number' with 'number'",
            "refused_no_number",
        )
    low, high = task.number_min, task.number_max
    assert low is not None and high is not None
    if not low <= number <= high:
        raise Invalid(
            f"{number} is not between {low} and {high}",
            "refused_number",
            number=number,
            low=low,
            high=high,
        )


async def _checked_time(
    answer: str, at: datetime | None, task: Task, zone: str, now: datetime, temporal: Client
) -> datetime:
    """A date-time answer: read in `zone` when naive, future, inside the payment window."""
    if answer != "at" or at is None:
        raise Invalid(
            f"task {task.id} asks for a date-time: send answer 'at' with 'at'", "refused_no_time"
        )
    at = at if at.tzinfo is not None else at.replace(tzinfo=ZoneInfo(zone))
    if at <= now:
        raise Invalid(f"{at.isoformat()} is in the past", "refused_past", at=at)
    if task.order_id is not None:
        state = await query_workflow(temporal, order_workflow_id(task.order_id), OrderChase.state)
        if state is None:
            raise Unavailable(
                f"the chase of order {task.order_id!r} did not answer in time", "refused_silent"
            )
        if at > state.ends_at:
            raise Invalid(
                f"{at.isoformat()} is after the payment window ends ({state.ends_at.isoformat()})",
                "refused_after_window",
                at=at,
                ends=state.ends_at,
            )
    return at
