"""What a path function gets: the servers, the database, and the steps that drive a chase
(answers, payments, events) as the API applies them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from db.models import Email, Lead, Order, Task
from db.session import Sessions
from domain import dial_workflow_id, order_workflow_id
from scripts.devstack.mailbox import SmtpServer
from scripts.devstack.time_skipping import skip
from settings import Settings
from tests.factories import make_order, start_order_chase
from workflows.dial import Dial
from workflows.lead_chase import LeadChase
from workflows.messages import (
    EmailOpened,
    LeadChaseInput,
    LeadChaseState,
    OrderCancelled,
    OrderChaseInput,
    PaymentReceived,
    PhoneChanged,
    StopChase,
)
from workflows.order_chase import OrderChase
from workflows.tasks import Reassignment, TaskAnswer
from workflows.timings import OrderTimings

TASK_QUEUE = "record-histories"
# The one manager who answers every task in the recordings.
MANAGER = "olga"
# Who an order is re-assigned to in the re-assignment path.
SUCCESSOR = "ivan"
# A manager with office hours in Moscow, for the path that waits for them.
OFFICE_MANAGER = "nina"
OFFICE_HOURS = ("Europe/Moscow", "Mon-Fri 09:00-19:00")


@dataclass(frozen=True)
class Recording:
    """What a path function gets: the server, the app's database and the SMTP server."""

    env: WorkflowEnvironment
    settings: Settings
    sessions: Sessions
    smtp: SmtpServer

    async def order(self, order_id: str, **overrides: Any) -> Order:
        """An order row; its chase's workflow id is `order-<order_id>`."""
        return await make_order(self.sessions, id=order_id, **overrides)

    async def start_order_chase(
        self,
        order: Order,
        max_history_events: int | None = None,
        timings: OrderTimings | None = None,
    ) -> WorkflowHandle[Any, Any]:
        if max_history_events is None:
            return await start_order_chase(self.env.client, self.settings, order, timings)
        return await self.env.client.start_workflow(
            OrderChase.run,
            OrderChaseInput(
                order_id=order.id,
                has_phone=order.phone is not None,
                timings=timings or self.settings.order_timings(),
                max_history_events=max_history_events,
            ),
            id=f"order-{order.id}",
            task_queue=self.settings.temporal_task_queue,
        )

    async def sleep(self, duration: timedelta) -> None:
        """Skip server time: timers due meanwhile fire, as they would in production."""
        await skip(self.env, duration)

    async def now(self) -> datetime:
        """The server's clock, which the workflows read as `workflow.now()`."""
        return await self.env.get_current_time()

    async def task(self, order_id: str, kind: str) -> Task:
        """The order's open task of this kind, once its workflow has opened it."""
        for _ in range(1000):
            async with self.sessions() as session:
                task = await session.scalar(
                    select(Task)
                    .where(Task.order_id == order_id, Task.kind == kind, Task.status == "open")
                    .order_by(Task.id)
                )
            if task is not None:
                await self.settled(self.env.client.get_workflow_handle(task.workflow_id))
                return task
            await asyncio.sleep(0.01)  # real time: the server's clock barely moves
        raise RuntimeError(f"no open {kind} task for order {order_id}")

    async def status(self, order_id: str, expected: str) -> None:
        """Wait for the chase's activity to store this status, and to be reported done."""
        for _ in range(1000):
            async with self.sessions() as session:
                order = await session.get(Order, order_id)
            if order is not None and order.status == expected:
                await self.settled(self.chase(order_id))
                return
            await asyncio.sleep(0.01)
        raise RuntimeError(f"order {order_id} never became {expected}")

    async def settled(self, handle: WorkflowHandle[Any, Any]) -> None:
        """Wait until the workflow has no activity in flight.

        An activity that completes after its workflow ended keeps the time-skipping server
        from ever skipping time again, so nothing may end a workflow mid-activity.
        """
        for _ in range(1000):
            if not (await handle.describe()).raw_description.pending_activities:
                return
            await asyncio.sleep(0.01)
        raise RuntimeError(f"{handle.id} keeps an activity running")

    async def answer(
        self,
        order_id: str,
        kind: str,
        answer: str,
        at: datetime | None = None,
        manager: str = MANAGER,
        number: int | None = None,
        valid_days: int | None = None,
    ) -> Task:
        """Answer the open task as `POST /v1/tasks/{id}/answer` does: store, then signal the
        workflow that waits for it (the dial child for a call)."""
        task = await self.task(order_id, kind)
        now = await self.now()
        async with self.sessions() as session, session.begin():
            row = await session.get(Task, task.id)
            assert row is not None
            row.status, row.answer, row.answer_at = "answered", answer, at
            row.answer_number, row.answer_valid_days = number, valid_days
            row.answered_at, row.answered_by = now, manager
        handle = self.env.client.get_workflow_handle(task.workflow_id)
        answered = TaskAnswer(task.id, answer, manager, at, number, valid_days)
        if kind == "call":
            await handle.signal(Dial.answer_task, answered)
        else:
            await handle.signal(OrderChase.answer_task, answered)
        return task

    async def take(self, order_id: str) -> None:
        """Past the grace minute, the manager takes the order from the pool."""
        await self.sleep(timedelta(seconds=self.settings.order_timings().grace))
        await self.answer(order_id, "take_order", "yes")

    async def reassign(self, order_id: str, manager_id: str) -> None:
        """`POST /v1/orders/{id}/assign` as the API applies it: the order row and its open
        tasks, then the signal to the chase (which tells its dial)."""
        async with self.sessions() as session, session.begin():
            order = await session.get(Order, order_id)
            assert order is not None
            order.assignee_id = manager_id
            for task in await session.scalars(
                select(Task).where(Task.order_id == order_id, Task.status == "open")
            ):
                task.assignee_id = manager_id
        await self.chase(order_id).signal(OrderChase.reassign, Reassignment(manager_id, "backend"))

    async def new_phone(self, order_id: str, event_id: str, phone: str) -> None:
        """A `phone_changed` event as the API applies it: the order row, then the signal."""
        async with self.sessions() as session, session.begin():
            order = await session.get(Order, order_id)
            assert order is not None
            order.phone = phone
        await self.chase(order_id).signal(OrderChase.change_phone, PhoneChanged(event_id))

    async def open_email(self, order_id: str, kind: str) -> None:
        """The customer loads the tracking pixel of the order's email of this kind."""
        async with self.sessions() as session, session.begin():
            email = await session.scalar(
                select(Email).where(Email.order_id == order_id, Email.kind == kind)
            )
            assert email is not None, f"no {kind} email for order {order_id}"
            email.opened_at = await self.now()
        await self.chase(order_id).signal(OrderChase.email_opened, EmailOpened(email.id))

    async def sent_at(self, order_id: str, kind: str) -> datetime:
        """When the chase sent the order's email of this kind, by its clock."""
        async with self.sessions() as session:
            sent = await session.scalar(
                select(Email.created_at).where(
                    Email.order_id == order_id, Email.kind == kind, Email.status == "sent"
                )
            )
        assert sent is not None, f"no {kind} email sent for order {order_id}"
        return sent

    async def pay(self, order_id: str, event_id: str = "pay-1") -> None:
        """Paid in full; returns once the chase has ended."""
        chase = self.chase(order_id)
        await chase.signal(OrderChase.record_payment, PaymentReceived(event_id, full=True))
        await self.ended(chase)

    async def part_paid(self, order_id: str, event_id: str, amount: str) -> None:
        """A `partially_paid` event as the API applies it: the paid amount, then the signal
        (a full payment when the parts add up to the amount)."""
        async with self.sessions() as session, session.begin():
            order = await session.get(Order, order_id)
            assert order is not None
            order.paid_amount += Decimal(amount)
            full = order.paid_amount >= order.amount
        await self.chase(order_id).signal(
            OrderChase.record_payment, PaymentReceived(event_id, full)
        )
        if full:
            await self.ended(self.chase(order_id))

    async def cancel(self, order_id: str, event_id: str = "cancel-1") -> None:
        """Cancelled by the backend; returns once the chase has ended."""
        chase = self.chase(order_id)
        await chase.signal(OrderChase.cancel, OrderCancelled(event_id))
        await self.ended(chase)

    async def ended(self, handle: WorkflowHandle[Any, Any]) -> None:
        """Wait in real time for a workflow that needs no timer to end.

        Not `result()`: it lets the time-skipping server skip ahead whenever nothing holds
        it, and a cancellation on its way to a dial child does not, so the parent would
        jump to its execution timeout instead of ending.
        """
        for _ in range(1000):
            if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                return
            await asyncio.sleep(0.01)
        raise RuntimeError(f"{handle.id} did not end")

    def chase(self, order_id: str, run_id: str | None = None) -> WorkflowHandle[Any, Any]:
        """The order's chase (its latest run unless `run_id` says which)."""
        return self.env.client.get_workflow_handle(f"order-{order_id}", run_id=run_id)

    def dial(self, order_id: str, number: int = 1) -> WorkflowHandle[Any, Any]:
        """The order's `number`-th dial child."""
        return self.env.client.get_workflow_handle(
            dial_workflow_id(order_workflow_id(order_id), number)
        )

    async def cancel_chase(self, order: Order) -> None:
        """Start the order's chase and have the backend cancel it an hour in: it ends."""
        await self.start_order_chase(order)
        await self.sleep(timedelta(hours=1))
        await self.cancel(order.id)

    async def start_lead_chase(self, lead_id: str) -> WorkflowHandle[Any, Any]:
        """A lead whose status has just become Chasing, and its first chase `lead-<id>`."""
        now = datetime.now(UTC)
        async with self.sessions() as session, session.begin():
            session.add(
                Lead(
                    id=lead_id,
                    title="Website redesign",
                    name="Ivan Petrov",
                    email="ivan@client.example",
                    responsible_manager_id=MANAGER,
                    status="chasing",
                    language="en",
                    chase_number=1,
                    chase_round=0,
                    emails_sent=0,
                    created_at=now,
                    updated_at=now,
                )
            )
        return await self.env.client.start_workflow(
            LeadChase.run,
            LeadChaseInput(lead_id, chase_number=1, timings=self.settings.lead_timings(now.date())),
            id=f"lead-{lead_id}",
            task_queue=self.settings.temporal_task_queue,
        )

    async def follow_ups(self, handle: WorkflowHandle[Any, Any], count: int) -> None:
        """Skip from due moment to due moment until `count` follow-ups have gone out and the
        chase waits for the next."""
        while (state := await self._lead_waiting(handle)).emails_sent < count:
            assert state.next_email_due is not None
            await self.sleep(state.next_email_due - await self.now() + timedelta(minutes=1))

    async def stop_lead(
        self, lead_id: str, event_id: str, reason: str, status: str | None = None
    ) -> None:
        """A reply or another status, as the API applies it: recorded, then signalled."""
        async with self.sessions() as session, session.begin():
            lead = await session.get(Lead, lead_id)
            assert lead is not None
            lead.status = status or lead.status
            lead.stopped_reason, lead.next_email_due = reason, None
        handle = self.env.client.get_workflow_handle(f"lead-{lead_id}")
        await handle.signal(LeadChase.stop, StopChase(event_id, reason))
        await self.ended(handle)

    async def _lead_waiting(self, handle: WorkflowHandle[Any, Any]) -> LeadChaseState:
        """The chase's state once it waits for its next due moment, nothing in flight."""
        for _ in range(1000):
            state: LeadChaseState = await handle.query(LeadChase.state)
            due = state.next_email_due
            if due is not None and due > await self.now():
                await self.settled(handle)
                return state
            await asyncio.sleep(0.01)
        raise RuntimeError(f"{handle.id} never waited for its next follow-up")
