"""The order chase: one workflow per unpaid order, `order-<id>`, until it is paid or given up.

Three branches run side by side (SPEC §1): the payment watch (the main coroutine, which also
hears cancellations), the manager process with its dial child workflow, and the customer
email cadence. Whatever ends the chase stops every branch at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ChildWorkflowError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.emails import EmailActivities, OrderEmail
    from activities.orders import Assignment, OrderActivities, OrderEnd, StatusChange
    from activities.tasks import NewTask, TaskActivities

from tests.histories.deployed.email_cadence_before_unsubscribe import EmailCadence
from workflows.dial import Dial
from workflows.messages import DialInput, DialResult, DialStop
from workflows.tasks import ORDER_TASKS, TaskAnswer

# Every side effect is a short database write or one email.
ACTIVITY_TIMEOUT = timedelta(seconds=60)
TASK_TIMEOUT = timedelta(seconds=60)
# A mail server that is down for hours must not lose the email: back off, keep trying.
EMAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=10)
)
# A chase that loops through call-backs continues as new past this many events. One loop
# (dial child, three tasks, waits, an email) adds about 40 events to this workflow, so 2,000
# allows ~50 loops per run, keeps a replay well under a second, and stays far below the
# server's 10,240-event warning.
MAX_HISTORY_EVENTS = 2_000


@dataclass
class OrderTimings:
    """Every duration of SPEC §1 in seconds, fixed when the chase starts."""

    grace: float
    payment_window: float
    phone_wait: float
    pending_wait: float
    dial_days: int
    calls_per_day: int
    retry_gap: float
    day_gap: float
    first_reminder: float
    open_wait: float
    purchase_wait: float
    offer_percent: int
    offer_valid: float
    objection_emails: list[str] = field(default_factory=list)


@dataclass
class Resume:
    """What a chase that continued as new carries into its next run: it resumes at a dial."""

    # ISO 8601: inside the sandbox `datetime` is a restricted proxy that the payload
    # converter cannot rebuild a workflow input field into.
    ends_at: str
    assignee_id: str | None
    partially_paid: bool
    phone_changes: int
    dials: int
    tasks_opened: int
    events_seen: list[str]
    opened: list[str]


@dataclass
class OrderChaseInput:
    order_id: str
    has_phone: bool
    timings: OrderTimings
    max_history_events: int = MAX_HISTORY_EVENTS
    resume: Resume | None = None


@dataclass
class OrderChaseResult:
    status: str
    outcome: str
    reason: str


@dataclass
class PaymentReceived:
    event_id: str
    full: bool  # False for a partial payment


@dataclass
class OrderCancelled:
    event_id: str


@dataclass
class PhoneChanged:
    event_id: str


@dataclass
class EmailOpened:
    message_id: str


@dataclass
class OrderState:
    """What `GET /v1/orders/{id}` shows of the running process."""

    stage: str
    partially_paid: bool
    ends_at: datetime
    assignee_id: str | None = None
    open_task_id: int | None = None
    dials: int = 0
    dial_workflow_id: str | None = None
    last_dial: DialResult | None = None


@dataclass
class _End:
    status: str
    outcome: str
    reason: str


@workflow.defn
class OrderChase:
    """Chase one order: emails and the manager process run beside the payment watch."""

    @workflow.init
    def __init__(self, input: OrderChaseInput) -> None:
        self.order_id = input.order_id
        self.timings = input.timings
        self.max_history_events = input.max_history_events
        resume = input.resume
        self.ends_at = (
            datetime.fromisoformat(resume.ends_at)
            if resume
            else workflow.now() + timedelta(seconds=input.timings.payment_window)
        )
        self.stage = "started"
        self.partially_paid = resume.partially_paid if resume else False
        self.has_phone = input.has_phone
        self.phone_changes = resume.phone_changes if resume else 0
        self.assignee_id = resume.assignee_id if resume else None
        self.dials = resume.dials if resume else 0
        self.tasks_opened = resume.tasks_opened if resume else 0
        self.events_seen: set[str] = set(resume.events_seen if resume else ())
        self.opened: set[str] = set(resume.opened if resume else ())  # opened emails' ids
        self.answers: dict[int, TaskAnswer] = {}
        self.open_task_id: int | None = None
        self.dial: workflow.ChildWorkflowHandle[Dial, DialResult] | None = None
        self.last_dial: DialResult | None = None
        self.end: _End | None = None
        self.resume_next: Resume | None = None
        self.cadence = EmailCadence(self)

    @workflow.run
    async def run(self, input: OrderChaseInput) -> OrderChaseResult:
        if input.resume is None:
            await self.send_email("order_received")
            branches = [
                asyncio.create_task(self._manager_process()),
                asyncio.create_task(self.cadence.run()),
            ]
        else:
            branches = [asyncio.create_task(self._dial_loop())]
        try:
            await workflow.wait_condition(
                lambda: self.end is not None or self.resume_next is not None or _failed(branches),
                timeout=self._until(self.ends_at),
            )
        except TimeoutError:
            self.end = _End("cancelled", "negative", "expired")
        await self._stop(branches)
        if self.end is None and self.resume_next is not None:
            await workflow.wait_condition(workflow.all_handlers_finished)
            workflow.continue_as_new(
                OrderChaseInput(
                    order_id=self.order_id,
                    has_phone=self.has_phone,
                    timings=self.timings,
                    max_history_events=self.max_history_events,
                    resume=self.resume_next,
                )
            )
        assert self.end is not None
        await self._finish(self.end)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return OrderChaseResult(self.end.status, self.end.outcome, self.end.reason)

    # --- signals and the query ------------------------------------------------------

    @workflow.signal
    async def record_payment(self, payment: PaymentReceived) -> None:
        """A full payment ends the chase; a partial one is recorded and read by later checks."""
        if not self._first_time(payment.event_id):
            return
        if payment.full:
            self._end_with("paid", "positive", "paid")
            return
        self.partially_paid = True
        await self._set_status("partially_paid")

    @workflow.signal
    def cancel(self, cancelled: OrderCancelled) -> None:
        """The backend cancelled the order: the chase ends, the customer hears nothing more."""
        if self._first_time(cancelled.event_id):
            self._end_with("cancelled", "negative", "cancelled")

    @workflow.signal
    def change_phone(self, changed: PhoneChanged) -> None:
        """The customer's phone arrived or changed: a wait for a phone is over."""
        if self._first_time(changed.event_id):
            self.has_phone = True
            self.phone_changes += 1

    @workflow.signal
    def answer_task(self, answer: TaskAnswer) -> None:
        """A manager's answer; the API has checked it against the task first."""
        if answer.task_id in self.answers:
            workflow.logger.warning("ignoring a second answer to task %s", answer.task_id)
            return
        self.answers[answer.task_id] = answer

    @workflow.signal
    def email_opened(self, opened: EmailOpened) -> None:
        """The tracking pixel of one of this order's emails was loaded."""
        self.opened.add(opened.message_id)

    @workflow.query
    def state(self) -> OrderState:
        return OrderState(
            stage=self.stage,
            partially_paid=self.partially_paid,
            ends_at=self.ends_at,
            assignee_id=self.assignee_id,
            open_task_id=self.open_task_id,
            dials=self.dials,
            dial_workflow_id=self.dial.id if self.dial is not None else None,
            last_dial=self.last_dial,
        )

    def closed(self) -> bool:
        """Paid, cancelled or given up: no branch may act any more."""
        return self.end is not None

    # --- the manager process (SPEC §1 C) --------------------------------------------

    async def _manager_process(self) -> None:
        t = self.timings
        self.stage = "grace"
        await workflow.sleep(timedelta(seconds=t.grace))  # the customer may pay alone

        take = await self._ask("take_order", pool=True)
        if take.answer == "duplicate":
            self._end_with("false", "neutral", "duplicate")
            return
        self.assignee_id = take.manager_id
        await workflow.execute_activity_method(
            OrderActivities.assign,
            Assignment(self._key("assign"), self.order_id, take.manager_id, workflow.now()),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
        )
        if not self.partially_paid:
            await self._set_status("in_progress")

        if not self.has_phone:
            await self._set_status("not_confirmed", "no phone")
            ask = await self._ask("ask_phone")
            if ask.answer == "send":
                await self.send_email("ask_phone")
            if not await self._await_phone(since=0):
                return
        await self._dial_loop()

    async def _dial_loop(self) -> None:
        """Step 5 and its outcomes; every path that does not end the chase dials again."""
        while True:
            if self._history_is_long():
                self.resume_next = self._resume()
                return
            phone_at_dial = self.phone_changes
            result = await self._dial()
            if result.outcome == "duplicate":
                self._end_with("false", "neutral", "duplicate")
                return
            if result.outcome == "wrong_number":
                await self.send_email("ask_correct_phone", step=f"ask_correct_phone:{self.dials}")
                await self._set_status("not_confirmed", "wrong number")
                if not await self._await_phone(since=phone_at_dial):
                    return
            elif result.outcome == "unreachable":
                await self.send_email("contact_us", step=f"contact_us:{self.dials}")
                await self._set_status("pending", "unreachable")
                # Only a new phone dials again; the payment window's end cancels the order.
                self.stage = "unreachable"
                await self._phone_within(None, since=phone_at_dial)
            elif not await self._after_reached():
                return

    async def _after_reached(self) -> bool:
        """The customer answered: will they pay? False when the chase ends here."""
        will_pay = await self._ask("will_pay")
        if will_pay.answer == "yes":
            if not self.partially_paid:
                await self._set_status("payment_pending")
            date = await self._ask("payment_date")
            await self._sleep_until(date, "awaiting_payment_date")
            await self.send_email("payment_reminder", step=f"payment_reminder:{self.dials}")
            return True
        confirm = await self._ask("confirm_cancel")
        if confirm.answer == "yes":
            self._end_with("cancelled", "negative", "declined")
            return False
        await self._set_status("pending", "call back")
        callback = await self._ask("callback_time")
        await self._sleep_until(callback, "awaiting_callback")
        return True

    async def _await_phone(self, since: int) -> bool:
        """Wait `phone_wait`, then `pending_wait` as pending; no phone by then cancels."""
        self.stage = "awaiting_phone"
        if await self._phone_within(self.timings.phone_wait, since):
            return True
        await self._set_status("pending", "no phone")
        if await self._phone_within(self.timings.pending_wait, since):
            return True
        self._end_with("cancelled", "negative", "no_phone")
        return False

    async def _phone_within(self, seconds: float | None, since: int) -> bool:
        """Whether a phone newer than change number `since` arrives in time (None: ever)."""
        try:
            await workflow.wait_condition(
                lambda: self.phone_changes > since,
                timeout=None if seconds is None else timedelta(seconds=seconds),
            )
        except TimeoutError:
            return False
        return True

    async def _dial(self) -> DialResult:
        """Run the dial child `order-<id>-dial-<n>` with fresh counters."""
        self.dials += 1
        self.stage = "dialing"
        t = self.timings
        self.dial = await workflow.start_child_workflow(
            Dial.run,
            DialInput(
                order_id=self.order_id,
                assignee_id=self.assignee_id,
                dial_days=t.dial_days,
                calls_per_day=t.calls_per_day,
                retry_gap=t.retry_gap,
                day_gap=t.day_gap,
            ),
            id=f"{workflow.info().workflow_id}-dial-{self.dials}",
        )
        result = await self.dial
        self.dial, self.last_dial = None, result
        return result

    async def _stop(self, branches: list[asyncio.Task[None]]) -> None:
        """Stop every branch, and the dial child through its own handle, so that it closes
        its open call task before the chase ends."""
        running: list[asyncio.Task[Any]] = list(branches)
        if self.dial is not None and not self.dial.done():
            reason = f"order {self.end.status}" if self.end else "chase continued as new"
            try:
                await self.dial.signal(Dial.stopping, DialStop(reason))
            except FailureError:
                pass  # the child ended on its own meanwhile: nothing left to close
            self.dial.cancel()
            running.append(self.dial)
        for branch in branches:
            branch.cancel()
        for task in running:
            try:
                await task
            except (asyncio.CancelledError, ChildWorkflowError):
                pass  # what we asked for; any other exception is a bug and fails the task

    async def _ask(self, kind: str, pool: bool = False) -> TaskAnswer:
        """Open a task for the assignee (or the shared pool) and wait for its answer."""
        title, options = ORDER_TASKS[kind]
        self.tasks_opened += 1
        self.stage = kind
        task_id = await workflow.execute_activity_method(
            TaskActivities.open_task,
            NewTask(
                key=self._key(f"task:{self.tasks_opened}:{kind}"),
                order_id=self.order_id,
                workflow_id=workflow.info().workflow_id,
                kind=kind,
                title=title,
                options=list(options),
                assignee_id=None if pool else self.assignee_id,
                at=workflow.now(),
            ),
            start_to_close_timeout=TASK_TIMEOUT,
        )
        self.open_task_id = task_id
        await workflow.wait_condition(lambda: task_id in self.answers)
        self.open_task_id = None
        return self.answers[task_id]

    async def _sleep_until(self, answer: TaskAnswer, stage: str) -> None:
        assert answer.at is not None, "the API only passes date answers with a time"
        self.stage = stage
        await workflow.sleep(timedelta(seconds=self._until(answer.at)))

    # --- shared steps ---------------------------------------------------------------

    def _end_with(self, status: str, outcome: str, reason: str) -> None:
        if self.end is None:
            self.end = _End(status, outcome, reason)

    def _first_time(self, event_id: str) -> bool:
        """Events are deduplicated here too: the API's check and a replayed signal may overlap."""
        if event_id in self.events_seen or self.end is not None:
            return False
        self.events_seen.add(event_id)
        return True

    def _history_is_long(self) -> bool:
        """Continue as new only between dials, and once the bounded email cadence is done."""
        info = workflow.info()
        long = info.get_current_history_length() > self.max_history_events
        return (long or info.is_continue_as_new_suggested()) and self.cadence.finished

    def _resume(self) -> Resume:
        return Resume(
            ends_at=self.ends_at.isoformat(),
            assignee_id=self.assignee_id,
            partially_paid=self.partially_paid,
            phone_changes=self.phone_changes,
            dials=self.dials,
            tasks_opened=self.tasks_opened,
            events_seen=sorted(self.events_seen),
            opened=sorted(self.opened),
        )

    async def _finish(self, end: _End) -> None:
        self.stage = "finished"
        await workflow.execute_activity_method(
            OrderActivities.finish_order,
            OrderEnd(
                key=self._key(f"end:{end.status}"),
                order_id=self.order_id,
                status=end.status,
                outcome=end.outcome,
                reason=end.reason,
                at=workflow.now(),
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
        )
        if end.status == "paid":
            await self.send_email("thank_you")

    async def _set_status(self, status: str, reason: str | None = None) -> None:
        await workflow.execute_activity_method(
            OrderActivities.set_status,
            StatusChange(
                key=self._key(f"status:{status}:{workflow.uuid4()}"),
                order_id=self.order_id,
                status=status,
                at=workflow.now(),
                reason=reason,
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
        )

    async def send_email(
        self,
        kind: str,
        step: str | None = None,
        discount_percent: int = 0,
        valid_until: datetime | None = None,
    ) -> str | None:
        """Send a customer email and return its message id; None when it could not be sent
        (a permanently refused address loses that email only)."""
        try:
            sent = await workflow.execute_activity_method(
                EmailActivities.send_order_email,
                OrderEmail(
                    key=self._key(f"email:{step or kind}"),
                    order_id=self.order_id,
                    kind=kind,
                    at=workflow.now(),
                    discount_percent=discount_percent,
                    valid_until=valid_until,
                ),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=EMAIL_RETRY,
            )
        except ActivityError as error:
            workflow.logger.warning("email %s to order %s not sent: %s", kind, self.order_id, error)
            return None
        return sent.message_id if sent.status == "sent" else None

    def _key(self, step: str) -> str:
        """Idempotency key of a side effect: the workflow id plus the step."""
        return f"{workflow.info().workflow_id}:{step}"

    def _until(self, moment: datetime) -> float:
        return max((moment - workflow.now()).total_seconds(), 0.0)


def _failed(branches: list[asyncio.Task[None]]) -> bool:
    return any(b.done() and not b.cancelled() and b.exception() is not None for b in branches)
