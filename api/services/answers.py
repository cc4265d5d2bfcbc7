"""Answering a manager task: one winner, then the waiting workflow hears it.

The answer is claimed with one conditional UPDATE (`… WHERE status = 'open'`): of two
managers answering at once, or an answer racing the task's automatic close, exactly one
changes the row and the other is told who did. The claim is committed before the signal;
until the workflow has heard it the task's `signalled_at` is empty and api.redelivery sends
it again, so an accepted answer is never lost, even if this process dies in between.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.errors import Conflict, Unavailable
from api.temporal import signal_workflow
from db.history import record_on
from db.models import Manager, Task
from domain import TaskKind, TaskStatus
from workflows.checkin import Checkin
from workflows.dial import Dial
from workflows.order_chase import OrderChase
from workflows.renewal import Renewal
from workflows.tasks import TaskAnswer

logger = logging.getLogger(__name__)

# Which workflow waits for an answer, by task kind; the order chase for the rest.
_HEARD_BY: dict[str, Any] = {
    TaskKind.CALL: Dial.answer_task,
    TaskKind.RENEWAL_CALL: Renewal.answer_task,
    TaskKind.CHECKIN: Checkin.answer_task,
}


@dataclass(frozen=True)
class Answer:
    """A checked answer, in the task's columns: a choice, a moment, or a number (a discount's
    with its validity, `answer_valid_days` or `answer_at`)."""

    answer: str
    answer_at: datetime | None
    answer_number: int | None
    answer_valid_days: int | None
    note: str | None


async def claim(
    session: AsyncSession, task: Task, manager: Manager, answer: Answer, now: datetime
) -> Task:
    """Record the answer if the task is still open; a Conflict names who got there first."""
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(Task)
            .where(Task.id == task.id, Task.status == TaskStatus.OPEN)
            .values(
                status=TaskStatus.ANSWERED,
                answered_at=now,
                answered_by=manager.id,
                **asdict(answer),
            )
        ),
    )
    if result.rowcount != 1:
        await session.rollback()
        await session.refresh(task)
        raise taken(task)
    record_on(
        session,
        task,
        at=now,
        actor=f"manager:{manager.id}",
        kind="call_result" if task.kind == TaskKind.CALL else "task_answered",
        task_id=task.id,
        task_kind=task.kind,
        answer=answer.answer,
        at_time=answer.answer_at.isoformat() if answer.answer_at else None,
        number=answer.answer_number,
        valid_days=answer.answer_valid_days,
        note=answer.note,
    )
    await session.commit()
    await session.refresh(task)
    return task


def taken(task: Task) -> Conflict:
    """Why a task that is not open takes no answer: who answered it, or why it closed."""
    if task.status == TaskStatus.ANSWERED:
        return Conflict(
            f"task {task.id} was already answered by {task.answered_by!r}",
            "refused_answered",
            id=task.id,
            who=task.answered_by,
        )
    return Conflict(
        f"task {task.id} is {task.status} ({task.close_reason}), it takes no answer",
        "refused_closed",
        id=task.id,
        why=task.close_reason,
    )


async def deliver(session: AsyncSession, temporal: Client, task: Task, now: datetime) -> None:
    """Signal the claimed answer to the workflow waiting on the task, then mark it heard.
    Temporal out of reach leaves it owed: api.redelivery sends it when Temporal is back."""
    assert task.answer is not None and task.answered_by is not None
    handler = _HEARD_BY.get(task.kind, OrderChase.answer_task)
    message = TaskAnswer(
        task.id,
        task.answer,
        task.answered_by,
        task.answer_at,
        number=task.answer_number,
        valid_days=task.answer_valid_days,
    )
    try:
        heard = await signal_workflow(temporal, task.workflow_id, handler, message)
    except Unavailable as error:
        logger.warning("answer to task %s owed to %s: %s", task.id, task.workflow_id, error)
        return
    if not heard:
        # The workflow ended without closing its task (terminated by hand): nobody waits.
        logger.warning("task %s: workflow %s has ended", task.id, task.workflow_id)
    await session.execute(update(Task).where(Task.id == task.id).values(signalled_at=now))
    await session.commit()
