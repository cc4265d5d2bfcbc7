"""The order chase: one workflow per unpaid order, `order-<id>`, until it is paid or given up.

Three branches run side by side (SPEC §1): the payment watch (the main coroutine, which also
hears cancellations), the manager process with its dial child workflow, and the customer
email cadence. Whatever ends the chase stops every branch at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Unpack

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
    from activities.tasks import CloseTask, TaskActivities

from domain import (
    DialOutcome,
    EmailStatus,
    EndReason,
    OrderStatus,
    Outcome,
    Stage,
    TaskKind,
    dial_workflow_id,
    legacy_dial_workflow_id,
)
from workflows.activity_calls import (
    db_activity,
    email_activity,
    local_db_activity,
    local_email_activity,
    open_task,
)
from workflows.email_cadence import EmailCadence
from workflows.messages import (
    DIAL_HOLD,
    DIAL_REASSIGN,
    DIAL_STOPPING,
    DIAL_WORKFLOW,
    ChasePause,
    ChaseResume,
    DialHold,
    DialInput,
    DialResult,
    DialStop,
    EmailOpened,
    EmailTerms,
    OrderCancelled,
    OrderChaseInput,
    OrderChaseResult,
    OrderState,
    PaymentReceived,
    PhoneChanged,
    Unsubscribed,
)
from workflows.patch_ids import (
    DIAL_ID_SEPARATOR,
    EMAIL_BOUNCE_TASK,
    END_HEARD_BEFORE_EXPIRY,
    NO_PHONE_CHECK,
    PAID_END_IN_TASK,
    PAUSE,
    PAYMENT_AFTER_END,
    SEARCH_ATTRIBUTES,
    SMS_PAYMENT_LINK,
    THANK_YOU_IN_TASK,
)
from workflows.pause import Pause, moment
from workflows.search_attributes import ASSIGNEE_ID, CHASE_STAGE, ORDER_STATUS
from workflows.special_terms import SpecialTerms
from workflows.tasks import ORDER_TASKS, Reassignment, TaskAnswer
from workflows.waits import seconds_until

# The running dial child, started by name (messages.DIAL_WORKFLOW).
DialHandle = workflow.ChildWorkflowHandle[Any, DialResult]


@workflow.defn
class OrderChase:
    """Chase one order: emails and the manager process run beside the payment watch."""

    @workflow.init
    def __init__(self, input: OrderChaseInput) -> None:
        self.order_id = input.order_id
        self.timings = input.timings
        self.max_history_events = input.max_history_events
        # A first run starts where a continued one would with nothing carried over.
        resume = input.resume or OrderState(
            ends_at=workflow.now() + timedelta(seconds=input.timings.payment_window)
        )
        self.ends_at = resume.ends_at
        self._stage: str = Stage.STARTED
        self.partially_paid = resume.partially_paid
        # Whether the order had a phone when this run started; has_phone adds the changes.
        self.phone_at_start = input.has_phone
        self.phone_changes = resume.phone_changes
        self.assignee_id = resume.assignee_id
        self.dials = resume.dials
        self.tasks_opened = resume.tasks_opened
        self.events_seen: set[str] = set(resume.events_seen)
        self.opened: set[str] = set(resume.opened)  # opened emails' ids
        self.answers: dict[int, TaskAnswer] = {}
        self.open_task_id: int | None = None
        self.dial: DialHandle | None = None
        self.last_dial: DialResult | None = None
        self.last_dial_id: str | None = None
        self.end: OrderChaseResult | None = None
        self.paid_after_end = False  # a full payment heard once the chase had ended otherwise
        self.resume_next: OrderState | None = None
        self.bounce_question: asyncio.Task[None] | None = None
        self.pause = Pause(resume.paused_until, resume.pause_reason)
        self.pause.seq = resume.pause_seq
        self.cadence = EmailCadence(self)
        self.terms = SpecialTerms(self)
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
        await self._watch_window(branches)
        await self._stop(branches)
        if self.end is None and self.resume_next is not None:
            await workflow.wait_condition(workflow.all_handlers_finished)
            workflow.continue_as_new(
                OrderChaseInput(
                    order_id=self.order_id,
                    has_phone=self.has_phone,
                    timings=self.timings,
                    max_history_events=self.max_history_events,
                    # Taken now: a pause (or an event) heard since the dial loop asked to
                    # continue goes with it.
                    resume=self.state(),
                )
            )
        return await self._close()

    async def _watch_window(self, branches: list[asyncio.Task[None]]) -> None:
        """Until something ends the chase, or the payment window does (a pause moves its
        end when PAUSE_EXTENDS_WINDOW is on: the wait then starts again)."""

        def over() -> bool:
            return self.end is not None or self.resume_next is not None or _failed(branches)

        while True:
            ends_at = self.ends_at
            try:
                await workflow.wait_condition(
                    lambda at=ends_at: over() or self.ends_at != at,  # type: ignore[misc]
                    timeout=seconds_until(ends_at),
                )
            except TimeoutError:
                # An end heard meanwhile (a payment while the first email was held up past
                # the window) stands; chases recorded before the change replay their overwrite.
                if self.end is None or not workflow.patched(END_HEARD_BEFORE_EXPIRY):
                    self.end = OrderChaseResult(
                        OrderStatus.CANCELLED, Outcome.NEGATIVE, EndReason.EXPIRED
                    )
                return
            if over():
                return

    # --- signals and the query ------------------------------------------------------

    @workflow.signal
    async def record_payment(self, payment: PaymentReceived) -> None:
        """A full payment ends the chase; a partial one is recorded and read by later checks."""
        if self._paid_after_end(payment):
            return
        if not self._first_time(payment.event_id):
            return
        if payment.full:
            self._end_with(OrderStatus.PAID, Outcome.POSITIVE, EndReason.PAID)
            return
        self.partially_paid = True
        await self._set_status(OrderStatus.PARTIALLY_PAID)

    @workflow.signal
    def cancel(self, cancelled: OrderCancelled) -> None:
        """The backend cancelled the order: the chase ends, the customer hears nothing more."""
        if self._first_time(cancelled.event_id):
            self._end_with(OrderStatus.CANCELLED, Outcome.NEGATIVE, EndReason.CANCELLED)

    @workflow.signal
    def change_phone(self, changed: PhoneChanged) -> None:
        """The customer's phone arrived or changed: a wait for a phone is over."""
        if self._first_time(changed.event_id):
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

    @workflow.signal
    async def pause_chase(self, pause: ChasePause) -> None:
        """Stand still until `pause.until`: no email, no task, every timer shifted by the
        pause; a payment or a cancel still ends the chase at once."""
        if self._pause_change_applies(pause.seq):
            await self._hold(moment(pause.until), pause.reason)

    @workflow.signal
    async def resume_chase(self, resume: ChaseResume) -> None:
        """End a pause early: the chase goes on with the rest of each wait."""
        if self._pause_change_applies(resume.seq):
            await self._hold(None, None)

    def _pause_change_applies(self, seq: int) -> bool:
        """Changes apply in the API's order (a redelivered older one is ignored), and not
        once the chase has ended."""
        if self.end is not None or seq <= self.pause.seq:
            return False
        # Versioning: a history whose worker heard this signal before pauses existed
        # (and ignored it) replays ignoring it.
        if not workflow.patched(PAUSE):
            return False
        self.pause.seq = seq
        return True

    async def _hold(self, until: datetime | None, reason: str | None) -> None:
        longer = self.pause.change(until, reason)
        if self.timings.pause_extends_window:
            self.ends_at += longer
        if self.dial is not None:
            await self._tell_dial_hold(self.dial)

    async def _tell_dial_hold(self, dial: DialHandle) -> None:
        try:
            until = self.pause.until
            await dial.signal(DIAL_HOLD, DialHold(until.isoformat() if until else None))
        except FailureError:
            pass  # the dial ended meanwhile: the next one is held before it starts

    @workflow.query
    def state(self) -> OrderState:
        paused = self.pause.paused()
        return OrderState(
            ends_at=self.ends_at,
            stage=self.stage,
            partially_paid=self.partially_paid,
            assignee_id=self.assignee_id,
            open_task_id=self.open_task_id,
            dials=self.dials,
            dial_workflow_id=self.dial.id if self.dial is not None else None,
            last_dial=self.last_dial,
            last_dial_workflow_id=self.last_dial_id,
            step_due_at=self.step_due_at,
            next_email_at=self.cadence.next_email_at,
            paused_until=self.pause.until if paused else None,
            pause_reason=self.pause.reason if paused else None,
            phone_changes=self.phone_changes,
            tasks_opened=self.tasks_opened,
            events_seen=sorted(self.events_seen),
            opened=sorted(self.opened),
            pause_seq=self.pause.seq,
        )

    @property
    def has_phone(self) -> bool:
        """A phone came with the order, or arrived since (one fact: the changes count it)."""
        return self.phone_at_start or self.phone_changes > 0

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
        self.stage = Stage.GRACE
        # Versioning: chases that passed this point before the SMS existed have no marker
        # here, so `patched` is False while they replay and they keep their old path.
        if workflow.patched(SMS_PAYMENT_LINK):
            await self._unpaused()
            await db_activity(
                SmsActivities.send_payment_sms,
                PaymentSms(self._key("sms:payment_link"), self.order_id, workflow.now()),
            )
        await self._wait(lambda: False, t.grace)  # the customer may pay alone

        take = await self._ask(TaskKind.TAKE_ORDER, pool=True)
        if take.answer == "duplicate":
            self._end_with(OrderStatus.FALSE, Outcome.NEUTRAL, EndReason.DUPLICATE)
            return
        if take.answer == "mistake":
            # Offered only by take tasks opened on this code: no chase recorded it before.
            self._end_with(OrderStatus.CANCELLED, Outcome.NEUTRAL, EndReason.MISTAKE)
            return
        self.assignee_id = take.manager_id
        self._publish(ASSIGNEE_ID.value_set(take.manager_id))
        await db_activity(
            OrderActivities.assign,
            Assignment(self._key("assign"), self.order_id, take.manager_id, workflow.now()),
        )
        if not self.partially_paid:
            await self._set_status(OrderStatus.IN_PROGRESS)

        if not self.has_phone:
            await self._set_status(OrderStatus.NOT_CONFIRMED, "no phone")
            ask = await self._ask(TaskKind.ASK_PHONE)
            if ask.answer == "send":
                await self.send_email("ask_phone")
            if not await self._await_phone(since=0):
                return
        await self._dial_loop()

    async def _dial_loop(self) -> None:
        """Step 5 and its outcomes; every path that does not end the chase dials again."""
        while True:
            if self._history_is_long():
                self.resume_next = self.state()
                return
            phone_at_dial = self.phone_changes
            result = await self._dial()
            if result.outcome == DialOutcome.DUPLICATE:
                self._end_with(OrderStatus.FALSE, Outcome.NEUTRAL, EndReason.DUPLICATE)
                return
            if result.outcome == DialOutcome.WRONG_NUMBER:
                await self.send_email("ask_correct_phone", step=f"ask_correct_phone:{self.dials}")
                await self._set_status(OrderStatus.NOT_CONFIRMED, "wrong number")
                if not await self._await_phone(since=phone_at_dial):
                    return
            elif result.outcome == DialOutcome.UNREACHABLE:
                await self.send_email("contact_us", step=f"contact_us:{self.dials}")
                await self._set_status(OrderStatus.PENDING, "unreachable")
                # Only a new phone dials again; the payment window's end cancels the order.
                self.stage = Stage.UNREACHABLE
                await self._phone_within(None, since=phone_at_dial)
            elif not await self._after_reached():
                return

    async def _after_reached(self) -> bool:
        """The customer answered: will they pay? False when the chase ends here."""
        will_pay = await self._ask(TaskKind.WILL_PAY)
        # The special terms are offered only by will_pay tasks opened on this code.
        if will_pay.answer == "instalments":
            await self.terms.instalments()
            return False
        if will_pay.answer == "discount":
            await self.terms.discount()
        if will_pay.answer in ("yes", "discount"):
            if not self.partially_paid:
                await self._set_status(OrderStatus.PAYMENT_PENDING)
            date = await self._ask(TaskKind.PAYMENT_DATE)
            await self._sleep_until(date, Stage.AWAITING_PAYMENT_DATE)
            await self.send_email("payment_reminder", step=f"payment_reminder:{self.dials}")
            return True
        confirm = await self._ask(TaskKind.CONFIRM_CANCEL)
        if confirm.answer == "yes":
            self._end_with(OrderStatus.CANCELLED, Outcome.NEGATIVE, EndReason.DECLINED)
            return False
        await self._set_status(OrderStatus.PENDING, "call back")
        callback = await self._ask(TaskKind.CALLBACK_TIME)
        await self._sleep_until(callback, Stage.AWAITING_CALLBACK)
        return True

    async def _await_phone(self, since: int) -> bool:
        """Wait `phone_wait`, then `pending_wait` as pending; no phone by then cancels."""
        self.stage = Stage.AWAITING_PHONE
        if await self._phone_within(self.timings.phone_wait, since):
            return True
        await self._set_status(OrderStatus.PENDING, "no phone")
        # Versioning: chases that went pending before the check existed wait without it.
        if workflow.patched(NO_PHONE_CHECK):
            return await self._check_the_order(since)
        if await self._phone_within(self.timings.pending_wait, since):
            return True
        self._end_with(OrderStatus.CANCELLED, Outcome.NEGATIVE, EndReason.NO_PHONE)
        return False

    async def _check_the_order(self, since: int) -> bool:
        """Seed 003, stage 4: the assignee is reminded to check the order while the pending
        wait runs. `cancel` ends the chase at once, `wait` lets the wait run on."""
        task_id = await self._open_task(TaskKind.NO_PHONE_CHECK)
        self.stage = Stage.AWAITING_PHONE

        def cancelled() -> bool:
            answer = self.answers.get(task_id)
            return answer is not None and answer.answer == "cancel"

        phone = await self._wait(
            lambda: self.phone_changes > since or cancelled(), self.timings.pending_wait
        )
        self.open_task_id = None
        if phone and not cancelled():
            if task_id not in self.answers:
                await db_activity(
                    TaskActivities.close_task,
                    CloseTask(task_id, "a phone arrived", workflow.now()),
                )
            return True
        # Cancelled by the manager, or no phone in time: the end closes the task if open.
        self._end_with(OrderStatus.CANCELLED, Outcome.NEGATIVE, EndReason.NO_PHONE)
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
            await self.pause.wait_condition(
                lambda: condition() or self.closed(),
                timeout=None if seconds is None else timedelta(seconds=seconds),
                due=self._step_due,
            )
        except TimeoutError:
            pass
        finally:
            self.step_due_at = None
        if self.closed():
            raise asyncio.CancelledError("the chase has closed")
        return condition()

    def _step_due(self, moment: datetime) -> None:
        self.step_due_at = moment

    async def _unpaused(self) -> None:
        """Hold the next email, task or dial while the chase is paused (no yield when it is
        not); a chase that closes meanwhile stops here."""
        if self.pause.paused():
            await self.pause.sit_out(self.closed)
            if self.closed():
                raise asyncio.CancelledError("the chase has closed")

    async def _dial(self) -> DialResult:
        """Run the dial child `order-<id>/dial-<n>` with fresh counters."""
        await self._unpaused()
        self.dials += 1
        self.stage = Stage.DIALING
        t = self.timings
        input_assignee = self.assignee_id
        dial: DialHandle = await workflow.start_child_workflow(
            DIAL_WORKFLOW,
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
            result_type=DialResult,
        )
        self.dial = dial
        if self.assignee_id != input_assignee:
            # Re-assigned while the child was starting: its input has the old assignee.
            await self._tell_dial(Reassignment(self.assignee_id, "chase"))
        if self.pause.paused():
            await self._tell_dial_hold(dial)  # paused while the child was starting
        result: DialResult = await dial
        self.dial, self.last_dial, self.last_dial_id = None, result, dial.id
        return result

    async def _tell_dial(self, change: Reassignment) -> None:
        assert self.dial is not None
        try:
            await self.dial.signal(DIAL_REASSIGN, change)
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
        for beside in self.terms.beside:
            beside.cancel()
            running.append(beside)
        if self.bounce_question is not None:
            self.bounce_question.cancel()
            running.append(self.bounce_question)
        # The handle is held here: while the signal is sent the child may complete, and the
        # manager branch then clears self.dial.
        dial = self.dial
        if dial is not None and not dial.done():
            reason = f"order {self.end.status}" if self.end else "chase continued as new"
            try:
                await dial.signal(DIAL_STOPPING, DialStop(reason))
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

    async def _ask(
        self, kind: str, pool: bool = False, numbers: tuple[int, int] | None = None
    ) -> TaskAnswer:
        """Open a task for the assignee (or the shared pool) and wait for its answer."""
        task_id = await self._open_task(kind, pool, numbers)
        await self._wait(lambda: task_id in self.answers)
        self.open_task_id = None
        return self.answers[task_id]

    async def _open_task(
        self, kind: str, pool: bool = False, numbers: tuple[int, int] | None = None
    ) -> int:
        """Open a task for the assignee (or the shared pool); `numbers`: the bounds of a
        number question."""
        await self._unpaused()
        self.tasks_opened += 1
        self.stage = kind
        task_id = await open_task(
            self._key(f"task:{self.tasks_opened}:{kind}"),
            kind,
            ORDER_TASKS[kind],
            self.order_id,
            None if pool else self.assignee_id,
            numbers=numbers,
        )
        self.open_task_id = task_id
        return task_id

    async def _sleep_until(self, answer: TaskAnswer, stage: str) -> None:
        assert answer.at is not None, "the API only passes date answers with a time"
        self.stage = stage
        await self._wait(lambda: False, seconds_until(answer.at))

    # --- shared steps ---------------------------------------------------------------

    def _end_with(self, status: str, outcome: str, reason: str) -> None:
        if self.end is None:
            self.end = OrderChaseResult(status, outcome, reason)

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
                self.end = OrderChaseResult(
                    OrderStatus.PAID, Outcome.POSITIVE, EndReason.PAID_AFTER_CANCEL
                )
            await self._finish(self.end)
            await workflow.wait_condition(workflow.all_handlers_finished)
            if not (self.paid_after_end and self.end.status != OrderStatus.PAID):
                return self.end

    def _first_time(self, event_id: str) -> bool:
        """Events are deduplicated here too: the API's check and a replayed signal may overlap."""
        if event_id in self.events_seen or self.end is not None:
            return False
        self.events_seen.add(event_id)
        return True

    def _history_is_long(self) -> bool:
        """Continue as new only between dials, once the bounded email cadence is done and a
        manager's discount has run out (its expiry lives in this run, not in the next)."""
        info = workflow.info()
        long = info.get_current_history_length() > self.max_history_events
        return (
            (long or info.is_continue_as_new_suggested())
            and self.cadence.finished
            and all(beside.done() for beside in self.terms.beside)
        )

    async def _finish(self, end: OrderChaseResult) -> None:
        self.stage = Stage.FINISHED
        written = OrderEnd(
            key=self._key(f"end:{end.status}"),
            order_id=self.order_id,
            status=end.status,
            outcome=end.outcome,
            reason=end.reason,
            at=workflow.now(),
        )
        # A payment's end is written in the task that heard it, and the thank-you sent there
        # too: under a burst of payments each one waits for one workflow task, not three, and
        # Temporal writes the chase three times for it instead of seven. The other ends are
        # followed by nothing a customer waits for.
        plain_payment = end.reason == EndReason.PAID
        if plain_payment and workflow.patched(PAID_END_IN_TASK):
            await local_db_activity(OrderActivities.finish_order, written)
        else:
            await db_activity(OrderActivities.finish_order, written)
        self._publish(ORDER_STATUS.value_set(end.status))
        if end.status == OrderStatus.PAID:
            in_task = plain_payment and workflow.patched(THANK_YOU_IN_TASK)
            await self.send_email("thank_you", in_task=in_task)

    async def _set_status(self, status: str, reason: str | None = None) -> None:
        await db_activity(
            OrderActivities.set_status,
            StatusChange(
                key=self._key(f"status:{status}:{workflow.uuid4()}"),
                order_id=self.order_id,
                status=status,
                at=workflow.now(),
                reason=reason,
            ),
        )
        self._publish(ORDER_STATUS.value_set(status))

    async def send_email(
        self,
        kind: str,
        step: str | None = None,
        *,
        in_task: bool = False,
        **terms: Unpack[EmailTerms],
    ) -> str | None:
        """Send a customer email and return its message id; None when it could not be sent
        (a permanently refused address loses that email only). A paused chase holds it;
        the thank-you, once the chase has closed, goes at once. `in_task`: sent by a local
        activity, in the workflow task that asks for it."""
        if not self.closed():
            await self._unpaused()
        try:
            sent = await (local_email_activity if in_task else email_activity)(
                EmailActivities.send_order_email,
                OrderEmail(
                    key=self._key(f"email:{step or kind}"),
                    order_id=self.order_id,
                    kind=kind,
                    at=workflow.now(),
                    **terms,
                ),
            )
        except (ActivityError, ApplicationError) as error:
            workflow.logger.warning("email %s to order %s not sent: %s", kind, self.order_id, error)
            # Versioning: chases that met a bounce before this task existed replay without it.
            if _bounced(error) and workflow.patched(EMAIL_BOUNCE_TASK):
                self._ask_about_bounce()
            return None
        return sent.message_id if sent.status == EmailStatus.SENT else None

    def _ask_about_bounce(self) -> None:
        """Ask the assignee (or the pool) to check the address, beside whatever else runs;
        one question at a time, and none once the chase has ended (the thank-you)."""
        if self.closed():
            return
        if self.bounce_question is None or self.bounce_question.done():
            self.bounce_question = asyncio.create_task(self._bounce_question())

    async def _bounce_question(self) -> None:
        await self._unpaused()
        task_id = await open_task(
            # Unique across continued runs, which share the workflow id.
            self._key(f"task:email_bounced:{workflow.uuid4()}"),
            TaskKind.EMAIL_BOUNCED,
            ORDER_TASKS[TaskKind.EMAIL_BOUNCED],
            self.order_id,
            self.assignee_id,
        )
        # The answer is the manager's note: `fixed` (an email_changed event brings the new
        # address) or `skip`; the chase goes on either way.
        await self._wait(lambda: task_id in self.answers)

    def _key(self, step: str) -> str:
        """Idempotency key of a side effect: the workflow id plus the step."""
        return f"{workflow.info().workflow_id}:{step}"


def _bounced(error: ActivityError | ApplicationError) -> bool:
    """The mail server refused the address for good (activities.emails raises this). A local
    activity's failure reaches the workflow as the activity's own error, not as its cause."""
    cause = error.cause if isinstance(error, ActivityError) else error
    return isinstance(cause, ApplicationError) and cause.type == "PermanentDeliveryError"


def _failed(branches: list[asyncio.Task[None]]) -> bool:
    return any(b.done() and not b.cancelled() and b.exception() is not None for b in branches)
