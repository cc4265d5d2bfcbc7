"""The order chase: one workflow per unpaid order, `order-<id>`, until it is paid or given up.

Three branches run side by side (SPEC §1): the payment watch (the main coroutine, which also
hears cancellations), the manager process with its dial child workflow, and the customer
email cadence. Whatever ends the chase stops every branch at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    FailureError,
    is_cancelled_exception,
)

with workflow.unsafe.imports_passed_through():
    from activities.emails import EmailActivities, OrderEmail
    from activities.orders import Assignment, OrderActivities, OrderEnd, StatusChange
    from activities.sms import PaymentSms, SmsActivities
    from activities.tasks import NewTask, TaskActivities
    from work_calendar import CalendarSpec

from domain import (
    EndReason,
    OrderStatus,
    Outcome,
    dial_workflow_id,
    legacy_dial_workflow_id,
)
from tests.histories.deployed.email_cadence_before_pause import EmailCadence
from workflows.activity_policy import ACTIVITY_TIMEOUT, EMAIL_RETRY, WRITE_RETRY
from workflows.dial import Dial
from workflows.messages import DialInput, DialResult, DialStop
from workflows.search_attributes import ASSIGNEE_ID, CHASE_STAGE, ORDER_STATUS
from workflows.tasks import ORDER_TASKS, Reassignment, TaskAnswer

# A chase that loops through call-backs continues as new past this many events. One loop
# (dial child, three tasks, waits, an email) adds about 40 events to this workflow, so 2,000
# allows ~50 loops per run, keeps a replay well under a second, and stays far below the
# server's 10,240-event warning.
MAX_HISTORY_EVENTS = 2_000

# Patch ids (README: "Changing a process while chases run").
# The payment link by SMS at the start of the grace delay.
SMS_PAYMENT_LINK = "sms-payment-link"
# Dial children named `order-<id>/dial-<n>`: no other order's chase can have that id.
DIAL_ID_SEPARATOR = "dial-id-separator"
# Money wins: a full payment heard after the chase ended otherwise closes it as paid.
PAYMENT_AFTER_END = "payment-after-end"
# Search attributes (workflows/search_attributes.py) upserted as the chase moves.
SEARCH_ATTRIBUTES = "search-attributes"
# A customer address that bounced opens an "Email bounced" task.
EMAIL_BOUNCE_TASK = "email-bounce-task"
# The window's end expires only a chase that nothing else ended first.
END_HEARD_BEFORE_EXPIRY = "end-heard-before-expiry"


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
    # CHASER_TIME_SCALE: calls and emails are placed on the real calendar, waits shrink.
    time_scale: float = 1.0
    # The customer's SEND_WINDOW for marketing emails; None (chases started before): any time.
    send_window: CalendarSpec | None = None


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
class Unsubscribed:
    email: str


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
    last_dial_workflow_id: str | None = None
    # When the manager process's current wait ends (the grace, a payment date...), and when
    # the next marketing email is due at the earliest.
    step_due_at: datetime | None = None
    next_email_at: datetime | None = None


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
        self._stage = "started"
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
        self.last_dial_id: str | None = None
        self.end: _End | None = None
        self.paid_after_end = False  # a full payment heard once the chase had ended otherwise
        self.resume_next: Resume | None = None
        self.bounce_question: asyncio.Task[None] | None = None
        self.cadence = EmailCadence(self)
        # Set in run(): whether this chase publishes its search attributes.
        self.searchable = False
        self.published: dict[str, object] = {}
        self.step_due_at: datetime | None = None  # the manager process's wait, for the query

    @workflow.run
    async def run(self, input: OrderChaseInput) -> OrderChaseResult:
        # Versioning: a chase started before the attributes existed has no marker here, so
        # it replays (and goes on) without upserts.
        self.searchable = workflow.patched(SEARCH_ATTRIBUTES)
        self._publish(CHASE_STAGE.value_set(self.stage))
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
            # An end heard meanwhile (a payment while the first email was held up past the
            # window) stands; chases recorded before the change replay their overwrite.
            if self.end is None or not workflow.patched(END_HEARD_BEFORE_EXPIRY):
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
        return await self._close()

    # --- signals and the query ------------------------------------------------------

    @workflow.signal
    async def record_payment(self, payment: PaymentReceived) -> None:
        """A full payment ends the chase; a partial one is recorded and read by later checks."""
        if self._paid_after_end(payment):
            return
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
    async def reassign(self, change: Reassignment) -> None:
        """The order moved to another manager or the pool (the API has moved its open task):
        later tasks go there, and so do the running dial's next calls."""
        self.assignee_id = change.manager_id
        if self.dial is not None:
            await self._tell_dial(change)

    @workflow.signal
    def email_opened(self, opened: EmailOpened) -> None:
        """The tracking pixel of one of this order's emails was loaded."""
        self.opened.add(opened.message_id)

    @workflow.signal
    def unsubscribe(self, unsubscribed: Unsubscribed) -> None:
        """The customer unsubscribed: the cadence stops, the manager process goes on."""
        self.cadence.unsubscribed = True

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
            last_dial_workflow_id=self.last_dial_id,
            step_due_at=self.step_due_at,
            next_email_at=self.cadence.next_email_at,
        )

    @property
    def stage(self) -> str:
        """Where the chase is; every change is published as ChaseStage."""
        return self._stage

    @stage.setter
    def stage(self, stage: str) -> None:
        self._stage = stage
        self._publish(CHASE_STAGE.value_set(stage))

    def _publish(self, *updates: SearchAttributeUpdate[Any]) -> None:
        """Upsert the attributes whose values changed (OrderStatus, ChaseStage, AssigneeId)."""
        changed = [u for u in updates if self.published.get(u.key.name, None) != u.value]
        if self.searchable and changed:
            self.published.update((u.key.name, u.value) for u in changed)
            workflow.upsert_search_attributes(changed)

    def closed(self) -> bool:
        """Paid, cancelled or given up: no branch may act any more."""
        return self.end is not None

    # --- the manager process (SPEC §1 C) --------------------------------------------

    async def _manager_process(self) -> None:
        t = self.timings
        self.stage = "grace"
        # Versioning: chases that passed this point before the SMS existed have no marker
        # here, so `patched` is False while they replay and they keep their old path.
        if workflow.patched(SMS_PAYMENT_LINK):
            await workflow.execute_activity_method(
                SmsActivities.send_payment_sms,
                PaymentSms(self._key("sms:payment_link"), self.order_id, workflow.now()),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )
        await self._wait(lambda: False, t.grace)  # the customer may pay alone

        take = await self._ask("take_order", pool=True)
        if take.answer == "duplicate":
            self._end_with("false", "neutral", "duplicate")
            return
        self.assignee_id = take.manager_id
        self._publish(ASSIGNEE_ID.value_set(take.manager_id))
        await workflow.execute_activity_method(
            OrderActivities.assign,
            Assignment(self._key("assign"), self.order_id, take.manager_id, workflow.now()),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=WRITE_RETRY,
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
        return await self._wait(lambda: self.phone_changes > since, seconds)

    async def _wait(self, condition: Callable[[], bool], seconds: float | None = None) -> bool:
        """Wait for `condition`, False when `seconds` run out. Every wait of the manager
        process goes through here: when the chase closes meanwhile, the branch stops even if
        an activity's result raced its cancellation into the same workflow task."""
        self.step_due_at = None if seconds is None else workflow.now() + timedelta(seconds=seconds)
        try:
            await workflow.wait_condition(
                lambda: condition() or self.closed(),
                timeout=None if seconds is None else timedelta(seconds=seconds),
            )
        except TimeoutError:
            pass
        finally:
            self.step_due_at = None
        if self.closed():
            raise asyncio.CancelledError("the chase has closed")
        return condition()

    async def _dial(self) -> DialResult:
        """Run the dial child `order-<id>/dial-<n>` with fresh counters."""
        self.dials += 1
        self.stage = "dialing"
        t = self.timings
        input_assignee = self.assignee_id
        dial = await workflow.start_child_workflow(
            Dial.run,
            DialInput(
                order_id=self.order_id,
                assignee_id=input_assignee,
                dial_days=t.dial_days,
                calls_per_day=t.calls_per_day,
                retry_gap=t.retry_gap,
                day_gap=t.day_gap,
                time_scale=t.time_scale,
            ),
            id=self._dial_id(),
        )
        self.dial = dial
        if self.assignee_id != input_assignee:
            # Re-assigned while the child was starting: its input has the old assignee.
            await self._tell_dial(Reassignment(self.assignee_id, "chase"))
        result = await dial
        self.dial, self.last_dial, self.last_dial_id = None, result, dial.id
        return result

    async def _tell_dial(self, change: Reassignment) -> None:
        assert self.dial is not None
        try:
            await self.dial.signal(Dial.reassign, change)
        except FailureError:
            pass  # the dial ended meanwhile: the next dial starts with the new assignee

    def _dial_id(self) -> str:
        chase = workflow.info().workflow_id
        if workflow.patched(DIAL_ID_SEPARATOR):
            return dial_workflow_id(chase, self.dials)
        return legacy_dial_workflow_id(chase, self.dials)

    async def _stop(self, branches: list[asyncio.Task[None]]) -> None:
        """Stop every branch, and the dial child through its own handle, so that it closes
        its open call task before the chase ends."""
        running: list[asyncio.Task[Any]] = list(branches)
        if self.bounce_question is not None:
            self.bounce_question.cancel()
            running.append(self.bounce_question)
        # The handle is held here: while the signal is sent the child may complete, and the
        # manager branch then clears self.dial.
        dial = self.dial
        if dial is not None and not dial.done():
            reason = f"order {self.end.status}" if self.end else "chase continued as new"
            try:
                await dial.signal(Dial.stopping, DialStop(reason))
            except FailureError:
                pass  # the child ended on its own meanwhile: nothing left to close
            dial.cancel()
            running.append(dial)
        for branch in branches:
            branch.cancel()
        for task in running:
            try:
                await task
            except (asyncio.CancelledError, ChildWorkflowError):
                pass  # what we asked for; any other exception is a bug and fails the task
            except ActivityError as error:
                # A branch cancelled in the task that schedules an activity (the SMS right
                # after the order-received email, when payment came meanwhile) gets the
                # activity's cancellation as an ActivityError: that is what we asked for too.
                if not is_cancelled_exception(error):
                    raise

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
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=WRITE_RETRY,
        )
        self.open_task_id = task_id
        await self._wait(lambda: task_id in self.answers)
        self.open_task_id = None
        return self.answers[task_id]

    async def _sleep_until(self, answer: TaskAnswer, stage: str) -> None:
        assert answer.at is not None, "the API only passes date answers with a time"
        self.stage = stage
        await self._wait(lambda: False, self._until(answer.at))

    # --- shared steps ---------------------------------------------------------------

    def _end_with(self, status: str, outcome: str, reason: str) -> None:
        if self.end is None:
            self.end = _End(status, outcome, reason)

    def _paid_after_end(self, payment: PaymentReceived) -> bool:
        """Whether this is a full payment after the chase ended as lost; it is kept for
        `_close`, which then ends the order paid after all."""
        lost = self.end is not None and self.end.status != OrderStatus.PAID
        if not (lost and payment.full) or payment.event_id in self.events_seen:
            return False
        # Chases recorded before the change ignored such a payment: they replay that way.
        if not workflow.patched(PAYMENT_AFTER_END):
            return False
        self.events_seen.add(payment.event_id)
        self.paid_after_end = True
        return True

    async def _close(self) -> OrderChaseResult:
        """Write the end. Money wins: a payment heard while the end was being written turns
        a lost order into a paid one, with the thank-you."""
        assert self.end is not None
        while True:
            if self.paid_after_end and self.end.status != OrderStatus.PAID:
                self.end = _End(OrderStatus.PAID, Outcome.POSITIVE, EndReason.PAID_AFTER_CANCEL)
            await self._finish(self.end)
            await workflow.wait_condition(workflow.all_handlers_finished)
            if not (self.paid_after_end and self.end.status != OrderStatus.PAID):
                return OrderChaseResult(self.end.status, self.end.outcome, self.end.reason)

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
            retry_policy=WRITE_RETRY,
        )
        self._publish(ORDER_STATUS.value_set(end.status))
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
            retry_policy=WRITE_RETRY,
        )
        self._publish(ORDER_STATUS.value_set(status))

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
            # Versioning: chases that met a bounce before this task existed replay without it.
            if _bounced(error) and workflow.patched(EMAIL_BOUNCE_TASK):
                self._ask_about_bounce()
            return None
        return sent.message_id if sent.status == "sent" else None

    def _ask_about_bounce(self) -> None:
        """Ask the assignee (or the pool) to check the address, beside whatever else runs;
        one question at a time, and none once the chase has ended (the thank-you)."""
        if self.closed():
            return
        if self.bounce_question is None or self.bounce_question.done():
            self.bounce_question = asyncio.create_task(self._bounce_question())

    async def _bounce_question(self) -> None:
        title, options = ORDER_TASKS["email_bounced"]
        task_id = await workflow.execute_activity_method(
            TaskActivities.open_task,
            NewTask(
                # Unique across continued runs, which share the workflow id.
                key=self._key(f"task:email_bounced:{workflow.uuid4()}"),
                order_id=self.order_id,
                workflow_id=workflow.info().workflow_id,
                kind="email_bounced",
                title=title,
                options=list(options),
                assignee_id=self.assignee_id,
                at=workflow.now(),
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=WRITE_RETRY,
        )
        # The answer is the manager's note: `fixed` (an email_changed event brings the new
        # address) or `skip`; the chase goes on either way.
        await self._wait(lambda: task_id in self.answers)

    def _key(self, step: str) -> str:
        """Idempotency key of a side effect: the workflow id plus the step."""
        return f"{workflow.info().workflow_id}:{step}"

    def _until(self, moment: datetime) -> float:
        return max((moment - workflow.now()).total_seconds(), 0.0)


def _bounced(error: ActivityError) -> bool:
    """The mail server refused the address for good (activities.emails raises this)."""
    cause = error.cause
    return isinstance(cause, ApplicationError) and cause.type == "PermanentDeliveryError"


def _failed(branches: list[asyncio.Task[None]]) -> bool:
    return any(b.done() and not b.cancelled() and b.exception() is not None for b in branches)
