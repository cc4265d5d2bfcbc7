"""Manager tasks of orders and subscriptions: opened and closed by workflows; answered through
the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import jinja2
from sqlalchemy import select
from temporalio import activity

from activities.orders import load_order
from activities.rows import load
from db.history import record_on
from db.models import Order, Subscription, Task
from db.session import Sessions
from db.tasks import close_open_tasks
from domain import TaskKind, TaskStatus
from workflows.tasks import CALL_SCRIPTS, POOL_KIND


@dataclass
class NewTask:
    key: str
    order_id: str | None  # None for a subscription's task
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
    # A subscription's task (the renewal call) goes to `assignee_id` as the workflow found it.
    subscription_id: str | None = None


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
            if new.subscription_id is not None:
                subscription = await load(
                    session, Subscription, "subscription", new.subscription_id
                )
                task = self._task(
                    new,
                    subscription,
                    new.assignee_id,
                    price=subscription.price,
                    period_ends_at=subscription.period_ends_at,
                )
            else:
                assert new.order_id is not None, "a task belongs to an order or a subscription"
                order = await load_order(session, new.order_id)
                # "Take the order?" goes to the pool; every other task to the order's assignee
                # as the row has it now: a re-assignment committed while this task was on its
                # way wins over the assignee the workflow knew when it asked.
                assignee_id = None if new.kind == POOL_KIND else order.assignee_id
                task = self._task(new, order, assignee_id, amount=order.amount)
            session.add(task)
            await session.flush()
            record_on(
                session,
                task,
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
            await close_open_tasks(session, Task.id, close.task_id, close.reason, close.at)

    def _task(
        self,
        new: NewTask,
        of: Order | Subscription,
        assignee_id: str | None,
        **script_context: object,
    ) -> Task:
        """The open task row of an order's or a subscription's task, in its customer's language;
        `script_context` is what the call script says about the order or the subscription."""
        return Task(
            key=new.key,
            order_id=of.id if isinstance(of, Order) else None,
            subscription_id=of.id if isinstance(of, Subscription) else None,
            workflow_id=new.workflow_id,
            kind=new.kind,
            title=self._title(of.language, new),
            call_script=self._call_script(
                of.language,
                new.kind,
                of.product_id,
                customer_name=of.customer_name,
                product_name=of.product_name,
                currency=of.currency,
                phone=of.phone,
                **script_context,
            ),
            options=new.options,
            number_min=new.number_min,
            number_max=new.number_max,
            assignee_id=assignee_id,
            status=TaskStatus.OPEN,
            created_at=new.at,
        )

    def _title(self, language: str, new: NewTask) -> str:
        """The workflow's title is English; other languages have theirs in
        templates/tasks/<language>/<kind>.txt."""
        try:
            template = self.templates.get_template(f"tasks/{language}/{new.kind}.txt")
        except jinja2.TemplateNotFound:
            return new.title
        return template.render(day=new.day, call=new.call).strip()

    def _call_script(
        self, language: str, kind: str, product_id: str, **context: object
    ) -> str | None:
        """What to say to the customer, in their language: for a dial's call the product's own
        script or the default one; the renewal call and the check-in have their own."""
        script = CALL_SCRIPTS.get(kind)
        if script is None:
            return None
        names = [f"call_scripts/{language}/{script}.txt", f"call_scripts/en/{script}.txt"]
        if kind == TaskKind.CALL:
            names.insert(0, f"call_scripts/{language}/{product_id}.txt")
        return self.templates.select_template(names).render(context)
