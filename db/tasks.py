"""Closing tasks nobody needs to answer any more, with their timeline lines: one way for a
task, an order's open tasks and a subscription's."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import Update, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from db.history import record
from db.models import Task
from domain import TaskStatus


async def close_open_tasks(
    session: AsyncSession,
    column: InstrumentedAttribute[Any],
    value: object,
    reason: str,
    at: datetime,
) -> None:
    """Close the open tasks whose `column` is `value` and note each on its owner's timeline.
    Conditional: an answer the API claimed a moment ago stays answered."""
    closed = await session.execute(_closing(column), {"value": value, "reason": reason})
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


@functools.cache
def _closing(column: InstrumentedAttribute[Any]) -> Update:
    """The statement closing the open tasks of one `column` value, built once (db.history
    says why)."""
    return (
        update(Task)
        .where(column == bindparam("value"), Task.status == TaskStatus.OPEN)
        .values(status=TaskStatus.CLOSED, close_reason=bindparam("reason"))
        .returning(Task.id, Task.order_id, Task.subscription_id, Task.kind)
    )
