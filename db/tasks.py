"""Closing tasks nobody needs to answer any more, with their timeline lines: one way for a
task, an order's open tasks and a subscription's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.history import record
from db.models import Task
from domain import TaskStatus


async def close_open_tasks(
    session: AsyncSession, which: ColumnElement[bool], reason: str, at: datetime
) -> None:
    """Close the open tasks `which` selects and note each on its owner's timeline.
    Conditional: an answer the API claimed a moment ago stays answered."""
    closed = await session.execute(
        update(Task)
        .where(which, Task.status == TaskStatus.OPEN)
        .values(status=TaskStatus.CLOSED, close_reason=reason)
        .returning(Task.id, Task.order_id, Task.subscription_id, Task.kind)
    )
    for task_id, order_id, subscription_id, kind in closed.all():
        record(
            session,
            order_id=order_id,
            subscription_id=subscription_id,
            at=at,
            actor="system",
            kind="task_closed",
            task_id=task_id,
            task_kind=kind,
            reason=reason,
        )
