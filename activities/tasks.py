"""Manager tasks: opened and closed by workflows; answered through the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import jinja2
from sqlalchemy import select, update
from temporalio import activity

from activities.orders import load_order
from db.history import record
from db.models import Order, Task
from db.session import Sessions


@dataclass
class NewTask:
    key: str
    order_id: str
    workflow_id: str  # the workflow that waits for the answer
    kind: str
    title: str
    options: list[str]
    assignee_id: str | None  # None: the shared pool
    at: datetime


@dataclass
class CloseTask:
    task_id: int
    reason: str
    at: datetime


class TaskActivities:
    def __init__(self, sessions: Sessions, templates: jinja2.Environment) -> None:
        self.sessions = sessions
        self.templates = templates

    @activity.defn
    async def open_task(self, new: NewTask) -> int:
        """Create the task once per key and return its id."""
        async with self.sessions() as session, session.begin():
            existing = await session.scalar(select(Task.id).where(Task.key == new.key))
            if existing is not None:
                return existing
            order = await load_order(session, new.order_id)
            task = Task(
                key=new.key,
                order_id=order.id,
                workflow_id=new.workflow_id,
                kind=new.kind,
                title=new.title,
                call_script=self._call_script(order) if new.kind == "call" else None,
                options=new.options,
                assignee_id=new.assignee_id,
                status="open",
                created_at=new.at,
            )
            session.add(task)
            await session.flush()
            record(
                session,
                order_id=order.id,
                at=new.at,
                actor="system",
                kind="task_created",
                task_id=task.id,
                task_kind=task.kind,
                title=task.title,
                assignee=task.assignee_id,
            )
            return task.id

    @activity.defn
    async def close_task(self, close: CloseTask) -> None:
        """Close a task nobody needs to answer any more; an answered one stays answered."""
        async with self.sessions() as session, session.begin():
            # Conditional: an answer the API claimed a moment ago stays answered.
            closed = await session.execute(
                update(Task)
                .where(Task.id == close.task_id, Task.status == "open")
                .values(status="closed", close_reason=close.reason)
                .returning(Task.order_id, Task.kind)
            )
            for order_id, kind in closed.all():
                record(
                    session,
                    order_id=order_id,
                    at=close.at,
                    actor="system",
                    kind="task_closed",
                    task_id=close.task_id,
                    task_kind=kind,
                    reason=close.reason,
                )

    def _call_script(self, order: Order) -> str:
        """What to say to the customer: the product's own script, or the default one."""
        template = self.templates.select_template(
            [f"call_scripts/{order.product_id}.txt", "call_scripts/default.txt"]
        )
        return template.render(
            customer_name=order.customer_name,
            product_name=order.product_name,
            amount=order.amount,
            currency=order.currency,
            phone=order.phone,
        )
