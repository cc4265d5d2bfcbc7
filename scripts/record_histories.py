"""Record one workflow history per process path into tests/histories/ (`make record-histories`).

Each path is one function registered with `@recorded(...)`: it drives a real chase on Temporal's
time-skipping test server — the real worker from `worker.build_worker`, a freshly migrated SQLite
database and an SMTP server on loopback — and returns the handle whose history is saved.
The saved JSON is what `temporal workflow show --output json` and `fetch_history()` produce;
tests/test_replay_corpus.py replays every file against the current workflow code.

    .venv/bin/python -m scripts.record_histories            # every path
    .venv/bin/python -m scripts.record_histories order-paid # just these
    .venv/bin/python -m scripts.record_histories --freeze sms-payment-link  # before a patch

Adding a path: write one `@recorded` function below, remove its line from `PENDING`,
run `make record-histories`, commit the new JSON with INDEX.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from cli.history import history_to_json
from db.migrate import upgrade
from db.models import Email, Enrollment, Lead, Manager, Order, Subscription, Task
from db.session import Sessions, make_engine, make_sessions
from domain import (
    EndReason,
    checkin_workflow_id,
    dial_workflow_id,
    late_payment_workflow_id,
    order_workflow_id,
    renewal_workflow_id,
)
from process_exit import exit_now
from settings import DefaultSettings, Settings
from temporal_client import register_search_attributes
from tests.factories import make_order, start_order_chase
from tests.mailbox import SmtpServer
from tests.servers import cached_binary, free_port
from tests.time_skipping import skip
from worker import WORKFLOWS, build_worker, make_deps
from workflows.checkin import Checkin, CheckinInput
from workflows.dial import Dial
from workflows.enrollment import EnrollmentInput, EnrollmentJob, enrollment_workflow_id
from workflows.late_payment import LatePayment, LatePaymentInput
from workflows.lead_chase import LeadChase, LeadChaseInput, LeadChaseState, StopChase
from workflows.order_chase import (
    EmailOpened,
    OrderCancelled,
    OrderChase,
    OrderChaseInput,
    OrderTimings,
    PaymentReceived,
    PhoneChanged,
    Unsubscribed,
)
from workflows.pause import ChasePause, ChaseResume
from workflows.renewal import (
    PeriodChanged,
    Renewal,
    RenewalInput,
    SubscriptionCancelled,
    SubscriptionRenewed,
)
from workflows.tasks import Reassignment, TaskAnswer
from workflows.webhook_delivery import (
    WebhookDelivery,
    WebhookDeliveryInput,
    webhook_delivery_id,
)
from workflows.work_calendar import CalendarSpec

ROOT = Path(__file__).resolve().parent.parent
HISTORIES = ROOT / "tests" / "histories"
TASK_QUEUE = "record-histories"
# The one manager who answers every task in the recordings.
MANAGER = "olga"
# Who an order is re-assigned to in the re-assignment path.
SUCCESSOR = "ivan"
# A manager with office hours in Moscow, for the path that waits for them.
OFFICE_MANAGER = "nina"
OFFICE_HOURS = ("Europe/Moscow", "Mon-Fri 09:00-19:00")


# --- The registry ---------------------------------------------------------------------


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


Drive = Callable[[Recording], Awaitable[WorkflowHandle[Any, Any]]]


@dataclass(frozen=True)
class RecordedPath:
    name: str  # the file is tests/histories/<name>.json
    workflow: str
    description: str
    drive: Drive
    finished: bool  # False: the history is taken while the workflow still runs


PATHS: dict[str, RecordedPath] = {}


def recorded(
    name: str, workflow: str, description: str, *, finished: bool = True
) -> Callable[[Drive], Drive]:
    """Register a path: `name` names the file, `description` is its line in INDEX.md."""

    def register(drive: Drive) -> Drive:
        if name in PATHS:
            raise ValueError(f"history path {name!r} is registered twice")
        PATHS[name] = RecordedPath(name, workflow, description, drive, finished)
        return drive

    return register


# Paths the processes have but the corpus does not record yet: one line each, shown in
# INDEX.md. Whoever registers a path removes its line here.
PENDING: list[str] = []

# Histories recorded by older code and kept on purpose: tests/histories/frozen/
# <path>.before-<patch id>.json, copied by `--freeze PATCH_ID` just before a change made with
# `workflow.patched(PATCH_ID)`. They stand for chases still running on the old path; this
# script never rewrites them. They go when the patch is deprecated (README: "Changing a
# process while chases run").
FROZEN_DIR = "frozen"


# --- Order chase: payment and cancel watch --------------------------------------------


@recorded("order-paid", "OrderChase", "paid in full on day 3: status paid, thank-you email")
async def order_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("paid"))
    await rec.sleep(timedelta(days=3))
    await handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=True))
    return handle


@recorded(
    "order-partly-paid-then-paid",
    "OrderChase",
    "partly paid on day 1 (status partially_paid), paid in full on day 4",
)
async def order_partly_paid_then_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("partly-paid"))
    await rec.sleep(timedelta(days=1))
    await handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=False))
    await rec.sleep(timedelta(days=3))
    await handle.signal(OrderChase.record_payment, PaymentReceived("pay-2", full=True))
    return handle


@recorded(
    "order-cancelled",
    "OrderChase",
    "cancelled by the backend after an hour: status cancelled (reason cancelled)",
)
async def order_cancelled(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("cancelled"))
    await rec.sleep(timedelta(hours=1))
    await handle.signal(OrderChase.cancel, OrderCancelled("cancel-1"))
    return handle


@recorded(
    "order-paid-after-cancel",
    "OrderChase",
    "cancelled, and paid a moment later while the end is written: status paid, reason "
    "paid_after_cancel, thank-you email",
)
async def order_paid_after_cancel(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("paid-after-cancel"))
    await rec.sleep(timedelta(hours=1))
    await handle.signal(OrderChase.cancel, OrderCancelled("cancel-1"))
    await handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=True))
    return handle


@recorded(
    "late-payment",
    "LatePayment",
    "a payment for an order whose chase ended cancelled: status paid (paid_after_cancel), "
    "thank-you email",
)
async def late_payment(rec: Recording) -> WorkflowHandle[Any, Any]:
    order = await rec.order("late-payment")
    await rec.cancel_chase(order)
    return await rec.env.client.start_workflow(
        LatePayment.run,
        LatePaymentInput(order_id=order.id, reason=EndReason.PAID_AFTER_CANCEL),
        id=late_payment_workflow_id(order.id),
        task_queue=rec.settings.temporal_task_queue,
    )


@recorded(
    "order-expired",
    "OrderChase",
    "never paid: the 30-day payment window ends, status cancelled (reason expired)",
)
async def order_expired(rec: Recording) -> WorkflowHandle[Any, Any]:
    # No signal at all: awaiting the result lets the server skip the whole window.
    return await rec.start_order_chase(await rec.order("expired", phone=None))


@recorded(
    "order-paid-while-first-email-held",
    "OrderChase",
    "paid while the order-received email is greylisted past a 2-minute window: the payment "
    "stands, status paid, thank-you email",
)
async def order_paid_while_first_email_held(rec: Recording) -> WorkflowHandle[Any, Any]:
    order = await rec.order("held", customer_email="held@example.com")
    rec.smtp.defer.add(order.customer_email)
    window = replace(rec.settings.order_timings(), payment_window=120.0)
    handle = await rec.start_order_chase(order, timings=window)
    try:
        await handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=True))
        await rec.sleep(timedelta(minutes=5))  # the email retried well past the window
    finally:
        rec.smtp.defer.discard(order.customer_email)
    return handle


# --- Order chase: the manager process (SPEC §1 C) -------------------------------------


@recorded(
    "order-duplicate-at-take",
    "OrderChase",
    "manager process: the take-order task is answered duplicate: status false (neutral)",
)
async def order_duplicate_at_take(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("dup-take"))
    await rec.sleep(timedelta(minutes=1))
    await rec.answer("dup-take", "take_order", "duplicate")
    return handle


@recorded(
    "order-created-by-mistake",
    "OrderChase",
    "manager process: the take-order task is answered mistake: cancelled (reason mistake), neutral",
)
async def order_created_by_mistake(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("mistake"))
    await rec.sleep(timedelta(minutes=1))
    await rec.answer("mistake", "take_order", "mistake")
    return handle


@recorded(
    "order-duplicate-at-call",
    "OrderChase",
    "manager process: taken, the first call is answered duplicate: dial-1 ends, status false",
)
async def order_duplicate_at_call(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("dup-call"))
    await rec.take("dup-call")
    await rec.answer("dup-call", "call", "duplicate")
    return handle


@recorded(
    "order-phone-arrives-then-dial",
    "OrderChase",
    "manager process: no phone (not_confirmed), ask_phone email sent, the phone arrives on "
    "day 3, dial-1 opens a call; paid",
)
async def order_phone_arrives_then_dial(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("phone-later", phone=None))
    await rec.take("phone-later")
    await rec.answer("phone-later", "ask_phone", "send")
    await rec.sleep(timedelta(days=3))
    await rec.new_phone("phone-later", "phone-1", "+79005554433")
    await rec.task("phone-later", "call")
    await rec.pay("phone-later")
    return handle


@recorded(
    "order-no-phone-cancelled",
    "OrderChase",
    "manager process: no phone, ask_phone skipped; pending after 5 days, cancelled "
    "(reason no_phone) 3 days later",
)
async def order_no_phone_cancelled(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("no-phone", phone=None))
    await rec.take("no-phone")
    await rec.answer("no-phone", "ask_phone", "skip")
    return handle  # awaiting the result skips the phone and pending waits


@recorded(
    "order-no-phone-check-cancel",
    "OrderChase",
    "manager process: no phone, ask_phone skipped; pending after 5 days with the task 'No "
    "phone for 5 days — check the order', answered cancel: cancelled (reason no_phone)",
)
async def order_no_phone_check_cancel(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("check-cancel", phone=None))
    await rec.take("check-cancel")
    await rec.answer("check-cancel", "ask_phone", "skip")
    await rec.sleep(timedelta(days=5))
    await rec.answer("check-cancel", "no_phone_check", "cancel")
    return handle


@recorded(
    "order-no-phone-check-wait-then-phone",
    "OrderChase",
    "manager process: no phone; after 5 days the check task, answered wait; a phone on day 6 "
    "starts dial-1; paid",
)
async def order_no_phone_check_wait_then_phone(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("check-wait", phone=None))
    await rec.take("check-wait")
    await rec.answer("check-wait", "ask_phone", "send")
    await rec.sleep(timedelta(days=5))
    await rec.answer("check-wait", "no_phone_check", "wait")
    await rec.sleep(timedelta(days=1))
    await rec.new_phone("check-wait", "phone-1", "+79001112233")
    await rec.task("check-wait", "call")
    await rec.pay("check-wait")
    return handle


@recorded(
    "order-unreachable-then-new-phone-paid",
    "OrderChase",
    "manager process: nine unanswered calls (dial-1 unreachable), contact-us email, pending; "
    "a new phone starts dial-2; paid",
)
async def order_unreachable_then_new_phone_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("unreachable"))
    await rec.take("unreachable")
    await _nine_unanswered_calls(rec, "unreachable")
    await rec.new_phone("unreachable", "phone-1", "+79007778899")
    await rec.task("unreachable", "call")
    await rec.pay("unreachable")
    return handle


@recorded(
    "order-unreachable-expired",
    "OrderChase",
    "manager process: nine unanswered calls (dial-1 unreachable), contact-us email, pending; "
    "no new phone and no payment: the 30-day window ends it, cancelled (reason expired)",
)
async def order_unreachable_expired(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("unreachable-expired"))
    await rec.take("unreachable-expired")
    await _nine_unanswered_calls(rec, "unreachable-expired")
    return handle  # awaiting the result skips to the end of the payment window


@recorded(
    "order-will-pay-reminder-paid",
    "OrderChase",
    "manager process: reached, will pay (payment_pending) on a date 4 days on; the payment "
    "reminder email and dial-2 that day; paid",
)
async def order_will_pay_reminder_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("will-pay"))
    await rec.take("will-pay")
    await rec.answer("will-pay", "call", "reached")
    await rec.answer("will-pay", "will_pay", "yes")
    await rec.answer("will-pay", "payment_date", "at", at=await rec.now() + timedelta(days=4))
    await rec.sleep(timedelta(days=4))
    await rec.task("will-pay", "call")
    await rec.pay("will-pay")
    return handle


@recorded(
    "order-manager-discount",
    "OrderChase",
    "manager process: reached, will pay with a discount: 7% for 3 days granted, emailed; "
    "payment date 2 days on, its reminder and dial-2; the discount expires; paid",
)
async def order_manager_discount(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("discount"))
    await rec.take("discount")
    await rec.answer("discount", "call", "reached")
    await rec.answer("discount", "will_pay", "discount")
    await rec.answer("discount", "discount", "number", number=7, valid_days=3)
    await rec.answer("discount", "payment_date", "at", at=await rec.now() + timedelta(days=2))
    await rec.sleep(timedelta(days=2))
    await rec.task("discount", "call")
    await rec.sleep(timedelta(days=1, hours=1))
    await rec.pay("discount")
    return handle


@recorded(
    "order-instalments-paid",
    "OrderChase",
    "manager process: reached, will pay in 3 instalments; part 1 reminded and paid; part 2 "
    "reminded, missed (call task, reached), paid late; part 3 reminded, paid: the parts add up",
)
async def order_instalments_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("instalments"))
    await rec.take("instalments")
    await rec.answer("instalments", "call", "reached")
    await rec.answer("instalments", "will_pay", "instalments")
    await rec.answer("instalments", "instalments", "number", number=3)
    await rec.status("instalments", "payment_pending")
    await rec.sleep(timedelta(days=2, hours=1))  # part 1's reminder
    await rec.part_paid("instalments", "part-1", "1633.33")
    await rec.sleep(timedelta(days=31))  # part 2 reminded, then due
    await rec.answer("instalments", "instalment_call", "reached")
    await rec.part_paid("instalments", "part-2", "1633.33")
    await rec.sleep(timedelta(days=29))  # part 3's reminder
    await rec.part_paid("instalments", "part-3", "1633.34")
    return handle


@recorded(
    "order-instalments-unpaid-expired",
    "OrderChase",
    "manager process: 2 instalments, none paid: each reminded and missed, its call task "
    "unanswered (the first closed when the second is reminded); ended expired a week after "
    "the last due date",
)
async def order_instalments_unpaid_expired(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("instalments-unpaid"))
    await rec.take("instalments-unpaid")
    await rec.answer("instalments-unpaid", "call", "reached")
    await rec.answer("instalments-unpaid", "will_pay", "instalments")
    await rec.answer("instalments-unpaid", "instalments", "number", number=2)
    return handle  # awaiting the result skips through both parts to the end


@recorded(
    "order-search-attributes",
    "OrderChase",
    "search attributes: ChaseStage at every stage, AssigneeId when olga takes it, OrderStatus "
    "at each status (payment_pending on will pay, then paid); paid on the promised date",
)
async def order_search_attributes(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("searchable"))
    await rec.take("searchable")
    await rec.answer("searchable", "call", "reached")
    await rec.answer("searchable", "will_pay", "yes")
    await rec.answer("searchable", "payment_date", "at", at=await rec.now() + timedelta(days=1))
    await rec.sleep(timedelta(hours=12))
    await rec.pay("searchable")
    return handle


@recorded(
    "order-wont-pay-cancelled",
    "OrderChase",
    "manager process: reached, will not pay, the manager confirms the cancel: status "
    "cancelled (reason declined)",
)
async def order_wont_pay_cancelled(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("wont-pay"))
    await rec.take("wont-pay")
    await rec.answer("wont-pay", "call", "reached")
    await rec.answer("wont-pay", "will_pay", "no")
    await rec.answer("wont-pay", "confirm_cancel", "yes")
    return handle


@recorded(
    "order-wont-pay-call-back-paid",
    "OrderChase",
    "manager process: reached, will not pay, kept (pending), call back in 2 days: dial-2 "
    "then; paid",
)
async def order_wont_pay_call_back_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("call-back"))
    await rec.take("call-back")
    await _call_back(rec, "call-back", timedelta(days=2))
    await rec.task("call-back", "call")
    await rec.pay("call-back")
    return handle


@recorded(
    "order-wrong-number-new-phone-paid",
    "OrderChase",
    "manager process: no answer, then wrong number: ask-correct-phone email, not_confirmed; "
    "the right phone a day later starts dial-2; paid",
)
async def order_wrong_number_new_phone_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("wrong-number"))
    await rec.take("wrong-number")
    await rec.answer("wrong-number", "call", "no_answer")
    await rec.sleep(timedelta(seconds=rec.settings.order_timings().retry_gap))
    await rec.answer("wrong-number", "call", "wrong_number")
    await rec.sleep(timedelta(days=1))
    await rec.new_phone("wrong-number", "phone-1", "+79001112233")
    await rec.task("wrong-number", "call")
    await rec.pay("wrong-number")
    return handle


@recorded(
    "order-wrong-number-no-phone-cancelled",
    "OrderChase",
    "manager process: wrong number: ask-correct-phone email, not_confirmed; no new phone: "
    "pending after 5 days, cancelled (reason no_phone) 3 days later",
)
async def order_wrong_number_no_phone_cancelled(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("wrong-number-no-phone"))
    await rec.take("wrong-number-no-phone")
    await rec.answer("wrong-number-no-phone", "call", "wrong_number")
    return handle  # awaiting the result skips the phone and pending waits


@recorded(
    "order-paid-mid-dial",
    "OrderChase",
    "manager process: paid while the first call task is open: dial-1 is cancelled and "
    "closes it, thank-you email",
)
async def order_paid_mid_dial(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("paid-mid-dial"))
    await rec.take("paid-mid-dial")
    await rec.task("paid-mid-dial", "call")
    await rec.pay("paid-mid-dial")
    return handle


@recorded(
    "order-cancelled-mid-dial",
    "OrderChase",
    "manager process: cancelled by the backend while call 2 is open: dial-1 is cancelled "
    "and closes it",
)
async def order_cancelled_mid_dial(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("cancelled-mid-dial"))
    await rec.take("cancelled-mid-dial")
    await rec.answer("cancelled-mid-dial", "call", "no_answer")
    await rec.sleep(timedelta(seconds=rec.settings.order_timings().retry_gap))
    await rec.task("cancelled-mid-dial", "call")
    await rec.cancel("cancelled-mid-dial")
    return handle


@recorded(
    "order-reassigned-mid-dial",
    "OrderChase",
    f"manager process: taken by {MANAGER}; while call 1 is open the order is re-assigned to "
    f"{SUCCESSOR}: the chase tells dial-1, whose call 2 goes to {SUCCESSOR}; paid",
)
async def order_reassigned_mid_dial(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("reassigned"))
    await rec.take("reassigned")
    await rec.task("reassigned", "call")
    await rec.reassign("reassigned", SUCCESSOR)
    await rec.answer("reassigned", "call", "no_answer")
    await rec.sleep(timedelta(seconds=rec.settings.order_timings().retry_gap))
    second = await rec.task("reassigned", "call")
    if second.assignee_id != SUCCESSOR:
        raise RuntimeError(f"call 2 went to {second.assignee_id}, not {SUCCESSOR}")
    await rec.pay("reassigned")
    return handle


# A chase that continues as new: the limit is lowered so that a few call-backs reach it.
LONG_CHASE_EVENTS = 150


@recorded(
    "order-continued-as-new",
    "OrderChase",
    f"first run of a long chase (max_history_events={LONG_CHASE_EVENTS}): call-backs every "
    "3 days until the email cadence is done and the history is long: continued as new",
)
async def order_continued_as_new(rec: Recording) -> WorkflowHandle[Any, Any]:
    first, _ = await _long_chase(rec, "long-first")
    return first


@recorded(
    "order-continued-as-new-resumed",
    "OrderChase",
    "the run a long chase continued as new into: it resumes at a dial (assignee, counters "
    "and payment deadline carried); paid",
)
async def order_continued_as_new_resumed(rec: Recording) -> WorkflowHandle[Any, Any]:
    _, last = await _long_chase(rec, "long-last")
    return last


async def _long_chase(
    rec: Recording, order_id: str
) -> tuple[WorkflowHandle[Any, Any], WorkflowHandle[Any, Any]]:
    """Call back until the chase continues as new, then pay; returns both runs' handles."""
    first = await rec.start_order_chase(
        await rec.order(order_id), max_history_events=LONG_CHASE_EVENTS
    )
    await rec.take(order_id)
    for _ in range(10):
        await _call_back(rec, order_id, timedelta(days=3))
        await rec.task(order_id, "call")  # the next dial: in this run or the next
        latest = (await rec.chase(order_id).describe()).run_id
        if latest != first.first_execution_run_id:
            await rec.pay(order_id)
            return rec.chase(order_id, first.first_execution_run_id), rec.chase(order_id, latest)
    raise RuntimeError(f"order-{order_id} never continued as new")


async def _call_back(rec: Recording, order_id: str, after: timedelta) -> None:
    """Reached, will not pay, kept: call back `after` from now, and wait until then."""
    await rec.answer(order_id, "call", "reached")
    await rec.answer(order_id, "will_pay", "no")
    await rec.answer(order_id, "confirm_cancel", "no")
    await rec.answer(order_id, "callback_time", "at", at=await rec.now() + after)
    await rec.sleep(after)


async def _nine_unanswered_calls(rec: Recording, order_id: str) -> None:
    """Three calls a day for three days, none answered: the dial child gives up."""
    t = rec.settings.order_timings()
    for attempt in range(1, t.dial_days * t.calls_per_day + 1):
        await rec.answer(order_id, "call", "no_answer")
        if attempt % t.calls_per_day:
            await rec.sleep(timedelta(seconds=t.retry_gap))
        elif attempt < t.dial_days * t.calls_per_day:
            await rec.sleep(timedelta(seconds=t.day_gap))


# --- Order chase: pause and resume (README "Calendar") ---------------------------------


@recorded(
    "order-paused-and-resumed",
    "OrderChase",
    "paused for 3 days right after the order-received email, resumed after one: the payment "
    "SMS goes then and the grace minute runs from there; paused again while call 1 is open "
    "(the chase tells dial-1, the email cadence's wait stands still), no answer: call 2 "
    "after the pause; paid",
)
async def order_paused_and_resumed(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("paused-resumed"))
    await rec.settled(handle)
    await _pause(rec, "paused-resumed", 1, timedelta(days=3))
    await rec.sleep(timedelta(days=1))
    await handle.signal(OrderChase.resume_chase, ChaseResume(2))
    await rec.take("paused-resumed")
    await _paused_mid_dial(rec, "paused-resumed", seq=3)
    return handle


@recorded(
    "order-paid-while-paused",
    "OrderChase",
    "paused for 5 days while call 1 is open, paid a day in: the chase ends at once, dial-1 "
    "closes its task, thank-you email",
)
async def order_paid_while_paused(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("paid-while-paused"))
    await rec.take("paid-while-paused")
    await rec.task("paid-while-paused", "call")
    await _pause(rec, "paid-while-paused", 1, timedelta(days=5))
    await rec.sleep(timedelta(days=1))
    await rec.pay("paid-while-paused")
    return handle


@recorded(
    "dial-paused",
    "Dial",
    "held by its parent's 2-day pause while call 1 is open; no answer: call 2 opens when the "
    "pause and the rest of the 30-minute gap have passed; the order is paid",
)
async def dial_paused(rec: Recording) -> WorkflowHandle[Any, Any]:
    await rec.start_order_chase(await rec.order("dial-paused"))
    await rec.take("dial-paused")
    await _paused_mid_dial(rec, "dial-paused", seq=1)
    return rec.dial("dial-paused")


async def _pause(rec: Recording, order_id: str, seq: int, length: timedelta) -> None:
    """`POST /v1/orders/{id}/pause` as the chase hears it (its row id is `seq`)."""
    until = (await rec.now() + length).isoformat()
    await rec.chase(order_id).signal(OrderChase.pause_chase, ChasePause(seq, until, "away"))


async def _paused_mid_dial(rec: Recording, order_id: str, seq: int) -> None:
    """Paused for 2 days while call 1 is open, which is answered no_answer meanwhile; call 2
    opens after the pause; then the order is paid."""
    await rec.task(order_id, "call")
    await _pause(rec, order_id, seq, timedelta(days=2))
    await rec.answer(order_id, "call", "no_answer")
    await rec.sleep(timedelta(days=2, minutes=31))
    await rec.task(order_id, "call")
    await rec.pay(order_id)


# --- Order chase: the customer email cadence (SPEC §1 D) ------------------------------


@recorded(
    "order-cadence-offer-expired-then-paid",
    "OrderChase",
    "email cadence, no manager takes the order: objections 1-3 (days 2, 4, 6), the 5 % "
    "offer on day 8 and its expiry on day 10; paid on day 11",
)
async def order_cadence_offer_expired_then_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("cadence-offer"))
    await rec.sleep(timedelta(days=11))
    await rec.pay("cadence-offer")
    return handle


@recorded(
    "order-cadence-email-opened",
    "OrderChase",
    "email cadence: objection 1 opened 3 hours after it went out, so objection 2 follows one "
    "purchase wait later (day 3, not day 4); paid on day 4",
)
async def order_cadence_email_opened(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("cadence-opened"))
    await rec.sleep(timedelta(days=2, hours=3))
    await rec.open_email("cadence-opened", "objection_1")
    await rec.sleep(timedelta(days=1, hours=3))
    await rec.pay("cadence-opened")
    return handle


@recorded(
    "order-cadence-paid-between-objections",
    "OrderChase",
    "email cadence: paid on day 5, between objection 2 (day 4) and objection 3: no more "
    "objections, the thank-you",
)
async def order_cadence_paid_between_objections(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("cadence-paid"))
    await rec.sleep(timedelta(days=5))
    await rec.pay("cadence-paid")
    return handle


@recorded(
    "order-cadence-send-window",
    "OrderChase",
    "email cadence for a customer in Berlin with a 09:00-21:00 send window: objection 1 falls "
    "due at 02:00 there and waits until 09:00; paid the next day",
)
async def order_cadence_send_window(rec: Recording) -> WorkflowHandle[Any, Any]:
    berlin = ZoneInfo("Europe/Berlin")
    now = (await rec.now()).astimezone(berlin)
    start = datetime.combine(now.date() + timedelta(days=1), clock_time(2), tzinfo=berlin)
    await rec.sleep(start - now)  # 02:00 there: objection 1, two days on, falls due at night
    timings = replace(
        rec.settings.order_timings(), send_window=CalendarSpec("Europe/Berlin", "09:00-21:00")
    )
    handle = await rec.start_order_chase(await rec.order("send-window"), timings=timings)
    await rec.sleep(timedelta(days=2, hours=8))  # 10:00 there: objection 1 went at 09:00
    sent = await rec.sent_at("send-window", "objection_1")
    assert sent.astimezone(berlin).time() < clock_time(9, 1), sent
    await rec.sleep(timedelta(hours=4))
    await rec.pay("send-window")
    return handle


@recorded(
    "order-email-bounced-then-paid",
    "OrderChase",
    'the order-received email is refused (SMTP 550): an "Email bounced" task for the pool, '
    "answered fixed; the address is suppressed, so objection 1 is not sent; paid on day 3",
)
async def order_email_bounced_then_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    address = "bounced@example.com"
    rec.smtp.refuse.add(address)
    try:
        handle = await rec.start_order_chase(await rec.order("bounced", customer_email=address))
        await rec.answer("bounced", "email_bounced", "fixed")
    finally:
        rec.smtp.refuse.discard(address)
    await rec.sleep(timedelta(days=3))
    await rec.pay("bounced")
    return handle


@recorded(
    "order-unsubscribed-then-paid",
    "OrderChase",
    "email cadence: the customer unsubscribes after objection 1 (day 2), so no more "
    "objections and no offer; paid on day 8, the thank-you still goes",
)
async def order_unsubscribed_then_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("unsubscribed"))
    await rec.sleep(timedelta(days=2, hours=1))
    await handle.signal(OrderChase.unsubscribe, Unsubscribed("anna@example.com"))
    await rec.sleep(timedelta(days=6))
    await rec.pay("unsubscribed")
    return handle


# --- Enrolment jobs and webhook delivery ------------------------------------------------


@recorded(
    "enrollment-job",
    "EnrollmentJob",
    "three unpaid orders and a paid one, two per batch: count, two batches a pause apart "
    "(three chases started, one skipped as closed), done",
)
async def enrollment_job(rec: Recording) -> WorkflowHandle[Any, Any]:
    ids = [f"enrol-{n}" for n in range(3)]
    for order_id in ids:
        await rec.order(order_id, product_id="course-enrol", phone=None)
    await rec.order("enrol-paid", product_id="course-enrol", status="paid")
    async with rec.sessions() as session, session.begin():
        session.add(
            Enrollment(
                id="enr-record",
                product_id="course-enrol",
                state="running",
                found=0,
                started=0,
                skipped={},
                created_at=await rec.now(),
            )
        )
    handle = await rec.env.client.start_workflow(
        EnrollmentJob.run,
        EnrollmentInput("enr-record", batch_size=2, pause=1.0),
        id=enrollment_workflow_id("enr-record"),
        task_queue=rec.settings.temporal_task_queue,
    )
    await handle.result()
    for order_id in ids:  # the chases it started end cleanly before the next path
        await rec.pay(order_id)
    return handle


@recorded(
    "webhook-delivery",
    "WebhookDelivery",
    "two delivery activity runs back to back, then continued as new (the next run is "
    "terminated: the loop never ends on its own)",
)
async def webhook_delivery(rec: Recording) -> WorkflowHandle[Any, Any]:
    # Sorted last of the paths on purpose: ending the loop's next run cancels its activity,
    # and the time-skipping server stops skipping after such a completion.
    started = await rec.env.client.start_workflow(
        WebhookDelivery.run,
        WebhookDeliveryInput(poll=0.05, run_for=0.2, runs=2),
        id=webhook_delivery_id(rec.settings.temporal_task_queue),
        task_queue=rec.settings.temporal_task_queue,
    )
    first = rec.env.client.get_workflow_handle(started.id, run_id=started.result_run_id)
    for _ in range(1000):
        if (await first.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW:
            break
        await asyncio.sleep(0.01)
    await rec.env.client.get_workflow_handle(first.id).terminate("recorded")
    return first


# --- Dial: the child workflow order-<id>-dial-<n> (workflows/dial.py) -----------------


@recorded(
    "dial-reached",
    "Dial",
    "no answer, then reached on call 2 of day 1 (the parent is cancelled after)",
)
async def dial_reached(rec: Recording) -> WorkflowHandle[Any, Any]:
    await rec.start_order_chase(await rec.order("dial-reached"))
    await rec.take("dial-reached")
    await rec.answer("dial-reached", "call", "no_answer")
    await rec.sleep(timedelta(seconds=rec.settings.order_timings().retry_gap))
    await rec.answer("dial-reached", "call", "reached")
    await rec.task("dial-reached", "will_pay")
    return await _then_cancel(rec, "dial-reached", "in_progress")


@recorded(
    "dial-unreachable",
    "Dial",
    "nine unanswered calls, 3 a day 30 minutes apart for 3 days: unreachable",
)
async def dial_unreachable(rec: Recording) -> WorkflowHandle[Any, Any]:
    await rec.start_order_chase(await rec.order("dial-unreachable"))
    await rec.take("dial-unreachable")
    await _nine_unanswered_calls(rec, "dial-unreachable")
    return await _then_cancel(rec, "dial-unreachable", "pending")


@recorded(
    "dial-cancelled",
    "Dial",
    "the order is paid while call 2 is open: told why, cancelled, closes the task",
)
async def dial_cancelled(rec: Recording) -> WorkflowHandle[Any, Any]:
    await rec.start_order_chase(await rec.order("dial-cancelled"))
    await rec.take("dial-cancelled")
    await rec.answer("dial-cancelled", "call", "no_answer")
    await rec.sleep(timedelta(seconds=rec.settings.order_timings().retry_gap))
    await rec.task("dial-cancelled", "call")
    await rec.pay("dial-cancelled")
    return rec.dial("dial-cancelled")


@recorded(
    "dial-after-hours",
    "Dial",
    "taken on a Friday at 19:30 Moscow by a manager working Mon-Fri 09:00-19:00: the first "
    "call opens on Monday at 09:00; reached (the parent is cancelled after)",
)
async def dial_after_hours(rec: Recording) -> WorkflowHandle[Any, Any]:
    moscow = ZoneInfo(OFFICE_HOURS[0])
    now = (await rec.now()).astimezone(moscow)
    friday = datetime.combine(now.date(), clock_time(19, 29), tzinfo=moscow)
    friday += timedelta(days=(4 - now.weekday()) % 7)
    if friday <= now:
        friday += timedelta(weeks=1)
    await rec.sleep(friday - now)
    await rec.start_order_chase(await rec.order("dial-after-hours"))
    await rec.sleep(timedelta(seconds=rec.settings.order_timings().grace))
    await rec.answer("dial-after-hours", "take_order", "yes", manager=OFFICE_MANAGER)
    await rec.sleep(timedelta(days=2, hours=14))  # to Monday 09:30
    call = await rec.answer("dial-after-hours", "call", "reached", manager=OFFICE_MANAGER)
    opened = call.created_at.astimezone(moscow)
    # At the opening, or the moment the worker got to it just after.
    assert opened.weekday() == 0 and clock_time(9) <= opened.time() < clock_time(9, 1), opened
    await rec.task("dial-after-hours", "will_pay")
    return await _then_cancel(rec, "dial-after-hours", "in_progress")


async def _then_cancel(rec: Recording, order_id: str, status: str) -> WorkflowHandle[Any, Any]:
    """Once the dial child has ended and its order reached `status`, cancel the order:
    nothing is left running."""
    child = rec.dial(order_id)
    await rec.ended(child)
    await rec.status(order_id, status)
    await rec.cancel(order_id)
    return child


# --- Lead chase (SPEC §2, workflows/lead_chase.py) -------------------------------------


@recorded(
    "lead-no-response",
    "LeadChase",
    "six follow-ups, two a round every 3 business days, each with the manager's notice; no "
    "answer: ends as no_response",
)
async def lead_no_response(rec: Recording) -> WorkflowHandle[Any, Any]:
    return await rec.start_lead_chase("no-response")  # the result skips every wait


@recorded(
    "lead-replied",
    "LeadChase",
    "the lead replies after the second follow-up: stopped at once (replied), nothing more sent",
)
async def lead_replied(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_lead_chase("replied")
    await rec.follow_ups(handle, 2)
    await rec.stop_lead("replied", "crm-2", "replied")
    return handle


@recorded(
    "lead-status-changed",
    "LeadChase",
    "the lead's status changes from Chasing to won after the first follow-up: stopped "
    "(status_changed)",
)
async def lead_status_changed(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_lead_chase("status-changed")
    await rec.follow_ups(handle, 1)
    await rec.stop_lead("status-changed", "crm-2", "status_changed", status="won")
    return handle


@recorded(
    "lead-search-attributes",
    "LeadChase",
    "search attributes: LeadStatus chasing from the start, replied once the lead answers "
    "after the first follow-up",
)
async def lead_search_attributes(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_lead_chase("searchable")
    await rec.follow_ups(handle, 1)
    await rec.stop_lead("searchable", "crm-2", "replied")
    return handle


# --- The recorder ---------------------------------------------------------------------


# --- Subscription renewals --------------------------------------------------------------


async def _subscription(rec: Recording, subscription_id: str, ends_in: timedelta) -> None:
    """A subscription as `POST /v1/subscriptions` stores it; `olga` sold it (the call is hers)."""
    now = await rec.now()
    async with rec.sessions() as session, session.begin():
        session.add(
            Subscription(
                id=subscription_id,
                product_id="club-python",
                product_name="Python club",
                price=Decimal("990.00"),
                currency="RUB",
                customer_name="Anna Petrova",
                customer_email="anna@example.com",
                language="en",
                assignee_id=MANAGER,
                status="active",
                period=1,
                period_ends_at=now + ends_in,
                created_at=now,
                updated_at=now,
            )
        )


async def _start_renewal(
    rec: Recording, subscription_id: str, ends_in: timedelta
) -> WorkflowHandle[Any, Any]:
    await _subscription(rec, subscription_id, ends_in)
    ends = await rec.now() + ends_in
    return await rec.env.client.start_workflow(
        Renewal.run,
        RenewalInput(
            subscription_id=subscription_id,
            period=1,
            period_ends_at=ends.isoformat(),
            timings=rec.settings.renewal_timings(),
        ),
        id=renewal_workflow_id(subscription_id),
        task_queue=rec.settings.temporal_task_queue,
    )


async def _renewal_call(rec: Recording, subscription_id: str, answer: str) -> None:
    """Answer the subscription's open renewal call as the API does: store, then signal."""
    for _ in range(1000):
        async with rec.sessions() as session:
            task = await session.scalar(
                select(Task).where(
                    Task.subscription_id == subscription_id,
                    Task.kind == "renewal_call",
                    Task.status == "open",
                )
            )
        if task is not None:
            break
        await asyncio.sleep(0.01)
    else:
        raise RuntimeError(f"no renewal call for subscription {subscription_id}")
    handle = rec.env.client.get_workflow_handle(task.workflow_id)
    await rec.settled(handle)
    async with rec.sessions() as session, session.begin():
        row = await session.get(Task, task.id)
        assert row is not None
        row.status, row.answer = "answered", answer
        row.answered_at, row.answered_by = await rec.now(), MANAGER
    await handle.signal(Renewal.answer_task, TaskAnswer(task.id, answer, MANAGER))


@recorded(
    "renewal-renewed",
    "Renewal",
    "a 30-day period: reminders 7 and 1 days before its end, the seller's renewal call 3 days "
    "before (answered renewing), renewed a few hours before the end: continued as new for "
    "period 2",
    finished=False,
)
async def renewal_renewed(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await _start_renewal(rec, "sub-renewed", timedelta(days=30))
    await rec.sleep(timedelta(days=27, minutes=1))
    await _renewal_call(rec, "sub-renewed", "renewing")
    await rec.sleep(timedelta(days=2, hours=20))
    await rec.settled(handle)
    next_end = (await rec.now()) + timedelta(days=31)
    async with rec.sessions() as session, session.begin():
        subscription = await session.get(Subscription, "sub-renewed")
        assert subscription is not None
        subscription.period, subscription.period_ends_at = 2, next_end
    await handle.signal(Renewal.renew, SubscriptionRenewed("renew-1", 1, next_end.isoformat()))
    first = rec.env.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
    for _ in range(1000):
        latest = await rec.env.client.get_workflow_handle(handle.id).describe()
        if latest.run_id != handle.first_execution_run_id:
            await rec.settled(rec.env.client.get_workflow_handle(handle.id))
            # The next period would run a month: it is not this path's.
            await rec.env.client.get_workflow_handle(handle.id).terminate("recorded")
            return first
        await asyncio.sleep(0.01)
    raise RuntimeError("renewal-sub-renewed never continued as new")


@recorded(
    "renewal-lapsed",
    "Renewal",
    "a 10-day period: the 7-day reminder, the renewal call (no answer), the 1-day reminder; no "
    "renewal by the end: lapsed, the subscription's status lapsed",
)
async def renewal_lapsed(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await _start_renewal(rec, "sub-lapsed", timedelta(days=10))
    await rec.sleep(timedelta(days=7, minutes=1))
    await _renewal_call(rec, "sub-lapsed", "no_answer")
    await rec.sleep(timedelta(days=3))
    return handle


@recorded(
    "renewal-cancelled",
    "Renewal",
    "a 10-day period: the 7-day reminder, then the end moves 5 days later (period_changed), the "
    "renewal call opens 3 days before the new end, and the backend cancels while it is open: "
    "the task closes, cancelled",
)
async def renewal_cancelled(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await _start_renewal(rec, "sub-cancelled", timedelta(days=10))
    await rec.sleep(timedelta(days=3, minutes=1))
    await rec.settled(handle)
    later = (await rec.now()) + timedelta(days=12)
    await handle.signal(Renewal.change_period, PeriodChanged("moved-1", later.isoformat()))
    await rec.sleep(timedelta(days=9, minutes=1))
    for _ in range(1000):
        state = await handle.query(Renewal.state)
        if state.call_task_id is not None:
            break
        await asyncio.sleep(0.01)
    await rec.settled(handle)
    await handle.signal(Renewal.cancel, SubscriptionCancelled("cancel-1"))
    await rec.ended(handle)
    return handle


# --- Check-in after purchase ------------------------------------------------------------


@recorded(
    "checkin-happy",
    "Checkin",
    "an order paid, 30 days on: the check-in email and the task for the manager who took the "
    "order, answered happy",
)
async def checkin_happy(rec: Recording) -> WorkflowHandle[Any, Any]:
    order = await rec.order("checkin", status="paid", assignee_id=MANAGER)
    handle = await rec.env.client.start_workflow(
        Checkin.run,
        CheckinInput(order.id, wait=timedelta(days=30).total_seconds(), send_email=True),
        id=checkin_workflow_id(order.id),
        task_queue=rec.settings.temporal_task_queue,
    )
    await rec.sleep(timedelta(days=30, minutes=1))
    task = await rec.task(order.id, "checkin")
    async with rec.sessions() as session, session.begin():
        row = await session.get(Task, task.id)
        assert row is not None
        row.status, row.answer = "answered", "happy"
        row.answered_at, row.answered_by = await rec.now(), MANAGER
    await handle.signal(Checkin.answer_task, TaskAnswer(task.id, "happy", MANAGER))
    return handle


@dataclass(frozen=True)
class Saved:
    path: RecordedPath
    file: Path
    events: int


async def record(paths: Sequence[RecordedPath], out: Path) -> list[Saved]:
    """Drive each path in turn on one time-skipping server and save its history."""
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Saved] = []
    with tempfile.TemporaryDirectory(prefix="chaser-record-") as tmp:
        database_url = f"sqlite+aiosqlite:///{tmp}/chaser.db"
        await asyncio.to_thread(upgrade, database_url)
        engine = make_engine(database_url)
        smtp = SmtpServer(port=free_port())
        smtp.start()
        settings = DefaultSettings(
            database_url=database_url,
            data_dir=Path(tmp),
            email_backend="smtp",
            smtp_url=f"smtp://127.0.0.1:{smtp.port}",
            temporal_task_queue=TASK_QUEUE,
            public_base_url="http://chaser.test",
            # Recordings start at whatever hour the server's clock shows: calls go out around
            # the clock here, and `dial-after-hours` gives its manager office hours.
            holidays_country=None,
            working_hours="00:00-24:00",
            pool_hours="00:00-24:00",
            send_window="00:00-24:00",
        )
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=cached_binary("TEMPORAL_TEST_SERVER", "temporal-test-server"),
            test_server_startup_timeout=timedelta(seconds=60),
        )
        await register_search_attributes(env.client)
        try:
            sessions = make_sessions(engine)
            await _add_manager(sessions)
            deps = make_deps(settings, sessions)
            async with build_worker(env.client, deps, TASK_QUEUE):
                for path in paths:
                    rec = Recording(env, settings, sessions, smtp)
                    saved.append(await _record_one(path, rec, out))
        finally:
            await env.shutdown()
            smtp.stop()
            await engine.dispose()
    return saved


async def _record_one(path: RecordedPath, rec: Recording, out: Path) -> Saved:
    started = time.monotonic()
    handle = await path.drive(rec)
    if path.finished:
        try:
            await handle.result()
        except WorkflowFailureError:
            pass  # a workflow that fails is a path too; its history says so
    history = await handle.fetch_history()
    file = out / f"{path.name}.json"
    file.write_text(history_to_json(history), encoding="utf-8")
    # A recording that does not replay on the code that just made it is a bug: say so now.
    result = await Replayer(workflows=list(WORKFLOWS)).replay_workflow(
        history, raise_on_replay_failure=False
    )
    if result.replay_failure is not None:
        raise RuntimeError(f"{file.name} does not replay: {result.replay_failure}")
    _say(f"{_shown(file)}: {len(history.events)} events ({time.monotonic() - started:.1f} s)")
    return Saved(path, file, len(history.events))


def write_index(out: Path, saved: Sequence[Saved]) -> None:
    rows = sorted(saved, key=lambda s: s.path.name)
    lines = [
        "# Recorded workflow histories",
        "",
        "Written by `make record-histories` (`scripts/record_histories.py`); do not edit by hand.",
        "Each file is one real run's history, in the JSON of",
        "`temporal workflow show --output json` and `WorkflowHandle.fetch_history()`.",
        "`tests/test_replay_corpus.py` replays every file against the current workflow code;",
        "`chaser replay FILE…` does the same by hand.",
        "",
        "| file | workflow | path | events |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| `{s.file.name}` | {s.path.workflow} | {s.path.description} | {s.events} |" for s in rows
    ]
    lines += ["", "## Not recorded yet", ""]
    if PENDING:
        lines += [
            "These paths are being written and are not in the corpus yet. Each is added by one",
            "`@recorded(...)` function in `scripts/record_histories.py`, then",
            "`make record-histories`:",
            "",
        ]
        lines += [f"- {line}" for line in PENDING]
    else:
        lines += ["Every path of every process is recorded."]
    lines += ["", "## Frozen histories (`frozen/`)", ""]
    lines += [
        "Recorded by older code and never re-recorded: they stand for chases still running",
        "on an old path, and must keep replaying until the `workflow.patched` branch that",
        'serves them is deprecated (README, "Changing a process while chases run").',
        "",
    ]
    frozen = sorted((out / FROZEN_DIR).glob("*.json"))
    if frozen:
        lines += ["| file | recorded before the patch | events |", "| --- | --- | --- |"]
        for file in frozen:
            path, _, patch = file.name.removesuffix(".json").partition(".before-")
            lines.append(
                f'| `{FROZEN_DIR}/{file.name}` | `{path}` before `workflow.patched("{patch}")` '
                f"| {_events(file)} |"
            )
    else:
        lines += ["None at the moment."]
    (out / "INDEX.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


async def _add_manager(sessions: Sessions) -> None:
    """The managers of the recordings' tasks (tasks and orders reference them)."""
    async with sessions() as session, session.begin():
        for manager_id in (MANAGER, SUCCESSOR, OFFICE_MANAGER):
            zone, hours = OFFICE_HOURS if manager_id == OFFICE_MANAGER else ("Europe/Moscow", None)
            session.add(
                Manager(
                    id=manager_id,
                    name=manager_id.title(),
                    email=f"{manager_id}@shop.example",
                    token_hash=hashlib.sha256(f"record-{manager_id}".encode()).hexdigest(),
                    timezone=zone,
                    working_hours=hours,
                    created_at=datetime.now(UTC),
                )
            )


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("paths", nargs="*", metavar="PATH", help="record only these paths")
    parser.add_argument("--out", type=Path, default=HISTORIES, help="default: tests/histories")
    parser.add_argument(
        "--freeze",
        metavar="PATCH_ID",
        help="before a change made with workflow.patched(PATCH_ID): keep today's recordings "
        "(all, or the PATHs given) as frozen/<path>.before-PATCH_ID.json; records nothing",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.paths) - set(PATHS))
    if unknown:
        parser.error(f"unknown path(s) {', '.join(unknown)}; known: {', '.join(sorted(PATHS))}")
    if args.freeze:
        freeze(args.out, args.freeze, args.paths)
        return 0
    chosen = [PATHS[name] for name in (args.paths or sorted(PATHS))]
    started = time.monotonic()
    asyncio.run(record(chosen, args.out))
    # The index always lists the whole registry, from what is on disk now.
    on_disk = _corpus(args.out)
    for stale in sorted(set(args.out.glob("*.json")) - {s.file for s in on_disk}):
        stale.unlink()
        _say(f"{_shown(stale)}: removed, no such path any more")
    missing = [p.name for p in PATHS.values() if not (args.out / f"{p.name}.json").is_file()]
    for name in missing:
        _say(f"{name}: registered but not recorded yet (run without arguments)")
    write_index(args.out, on_disk)
    _say(
        f"{len(chosen)} recorded, {len(on_disk)} in the corpus "
        f"({time.monotonic() - started:.1f} s); index: {_shown(args.out / 'INDEX.md')}"
    )
    return 0


def freeze(out: Path, patch_id: str, names: Sequence[str] = ()) -> None:
    """Copy the recorded histories (all, or `names`) to frozen/, named for the coming patch."""
    if not re.fullmatch(r"[\w.-]+", patch_id):
        raise SystemExit(f"a patch id is letters, digits, '-', '_' or '.': {patch_id!r}")
    target = out / FROZEN_DIR
    target.mkdir(exist_ok=True)
    recorded = [out / f"{name}.json" for name in names] or sorted(out.glob("*.json"))
    for file in recorded:
        frozen = target / f"{file.stem}.before-{patch_id}.json"
        if frozen.exists():
            raise SystemExit(f"{_shown(frozen)} exists already")
        shutil.copyfile(file, frozen)
        _say(f"{_shown(frozen)}: frozen")
    write_index(out, _corpus(out))
    _say(f"{len(recorded)} histories frozen before {patch_id!r}; commit them with the change")


def _corpus(out: Path) -> list[Saved]:
    """The registered paths that have a recording in `out`."""
    return [
        Saved(path, out / f"{path.name}.json", _events(out / f"{path.name}.json"))
        for path in sorted(PATHS.values(), key=lambda p: p.name)
        if (out / f"{path.name}.json").is_file()
    ]


def _events(file: Path) -> int:
    return len(json.loads(file.read_text(encoding="utf-8")).get("events", []))


if __name__ == "__main__":
    exit_now(main())
