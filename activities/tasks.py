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
from workflows.tasks import POOL_KIND


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
    # A call's place in the dial, for its title in the order's language.
    day: int = 0
    call: int = 0
    # The bounds of a number question (workflows.tasks.NUMBER_TASKS).
    number_min: int | None = None
    number_max: int | None = None


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
            # "Take the order?" goes to the pool; every other task to the order's assignee as
            # the row has it now: a re-assignment committed while this task was on its way wins
            # over the assignee the workflow knew when it asked.
            assignee_id = None if new.kind == POOL_KIND else order.assignee_id
            task = Task(
                key=new.key,
                order_id=order.id,
                workflow_id=new.workflow_id,
                kind=new.kind,
                title=self._title(order, new),
                call_script=self._call_script(order, new.kind),
                options=new.options,
                number_min=new.number_min,
                number_max=new.number_max,
                assignee_id=assignee_id,
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

    def _title(self, order: Order, new: NewTask) -> str:
        """The workflow's title is English; other languages have theirs in
        templates/tasks/<language>/<kind>.txt."""
        try:
            template = self.templates.get_template(f"tasks/{order.language}/{new.kind}.txt")
        except jinja2.TemplateNotFound:
            return new.title
        return template.render(day=new.day, call=new.call).strip()

    def _call_script(self, order: Order, kind: str) -> str | None:
        """What to say to the customer, in the order's language: for a dial's call the
        product's own script or the default one; for an overdue instalment its own."""
        if kind == "instalment_call":
            names = [f"call_scripts/{order.language}/{kind}.txt", f"call_scripts/en/{kind}.txt"]
        elif kind == "call":
            names = [
                f"call_scripts/{order.language}/{order.product_id}.txt",
                f"call_scripts/{order.language}/default.txt",
                "call_scripts/en/default.txt",
            ]
        else:
            return None
        return self.templates.select_template(names).render(
            customer_name=order.customer_name,
            product_name=order.product_name,
            amount=order.amount,
            currency=order.currency,
            phone=order.phone,
        )
