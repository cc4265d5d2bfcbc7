"""The dial sub-process: a child workflow that calls a customer up to N times a day for D days.

Days are the assignee's working days and calls fall inside their working hours
(work_calendar.py): a call due after hours waits for the next working morning.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.calendars import CalendarActivities, WhoseCalendar
    from activities.tasks import CloseTask, TaskActivities

    # Pure, but holds ZoneInfo objects, which the sandbox would wrap in proxies.
    from work_calendar import Calendar, CalendarError, ChaseClock

from domain import DialOutcome, TaskKind
from workflows.activity_calls import db_activity, open_task
from workflows.messages import (
    DIAL_HOLD,
    DIAL_REASSIGN,
    DIAL_STOPPING,
    DIAL_WORKFLOW,
    DialCounters,
    DialHold,
    DialInput,
    DialResult,
    DialStop,
)
from workflows.patch_ids import DIAL_WORKING_HOURS, PAUSE
from workflows.pause import Pause, moment
from workflows.tasks import CALL_ANSWERS, Reassignment, TaskAnswer


@workflow.defn(name=DIAL_WORKFLOW)
class Dial:
    """One call task at a time for the assigned manager, until an answer other than no_answer."""

    @workflow.init
    def __init__(self, input: DialInput) -> None:
        self.day = 1  # the day of dialling in use, 1-based
        self.call = 0  # unanswered calls made today
        self.attempts = 0
        self.open_task_id: int | None = None
        self.answers: dict[int, TaskAnswer] = {}
        self.stop_reason = "dial cancelled"
        self.assignee_id = input.assignee_id  # re-assigning the order changes it
        self.next_call_at: datetime | None = None
        self.pause = Pause()  # the parent's, passed on (Dial.hold)

    @workflow.run
    async def run(self, input: DialInput) -> DialResult:
        try:
            # Versioning: dials started before working hours existed call by the clock.
            if workflow.patched(DIAL_WORKING_HOURS):
                return await self._on_working_days(input)
            return await self._by_the_clock(input)
        except asyncio.CancelledError:
            # The order ended (paid, cancelled, expired): leave no call task behind.
            if self.open_task_id is not None:
                await db_activity(
                    TaskActivities.close_task,
                    CloseTask(self.open_task_id, self.stop_reason, workflow.now()),
                )
            raise

    async def _on_working_days(self, input: DialInput) -> DialResult:
        """Calls inside the assignee's hours; a day is one of their working days, and a gap
        that would cross a night ends that day early instead."""
        clock = ChaseClock(workflow.now(), input.time_scale)
        gap = timedelta(seconds=input.retry_gap / input.time_scale)
        days_apart = max(1, round(input.day_gap / input.time_scale / 86_400))
        due = clock.started  # on the chase clock
        while True:
            calendar = await self._assignees_calendar()
            at = calendar.next_open(due)
            if self.call and at != due:  # the gap ran into a night: that day is over
                if self.day >= input.dial_days:
                    return self._result(DialOutcome.UNREACHABLE)
                self.day, self.call = self.day + 1, 0
            while shift := await self._sleep_until(clock.workflow_time(at)):
                # A pause moved the call on: to the working hours from there.
                at = calendar.next_open(clock.chase_time(clock.workflow_time(at) + shift))
            answer = await self._call(input)
            self.attempts += 1
            if answer.answer != "no_answer":
                return self._result(answer.answer)
            self.call += 1
            now = clock.chase_time(workflow.now())
            if self.call < input.calls_per_day:
                due = now + gap
            elif self.day < input.dial_days:
                # The same time of day, `days_apart` working days on (DAY_GAP in whole days).
                due = calendar.add_working_days(now, days_apart)
                self.day, self.call = self.day + 1, 0
            else:
                return self._result(DialOutcome.UNREACHABLE)

    async def _assignees_calendar(self) -> Calendar:
        spec = await db_activity(
            CalendarActivities.working_calendar,
            WhoseCalendar(self.assignee_id, workflow.now()),
        )
        try:
            return spec.calendar()
        except CalendarError as error:
            # A zone or hours the API let through but this tzdata lacks: no retry heals it.
            raise ApplicationError(str(error), type="CalendarError", non_retryable=True) from error

    async def _sleep_until(self, moment: datetime) -> timedelta:
        """Sleep until `moment`, and past it by any pause met; how much past."""
        stood = self.pause.stood
        self.next_call_at = moment
        if moment > workflow.now():
            await self._sleep(moment - workflow.now())
        await self.pause.sit_out()  # due now, but paused
        self.next_call_at = None
        return self.pause.stood - stood

    async def _sleep(self, duration: timedelta) -> None:
        """`workflow.sleep`, standing still while paused."""
        try:
            await self.pause.wait_condition(lambda: False, duration, due=self._call_due)
        except TimeoutError:
            pass

    def _call_due(self, moment: datetime) -> None:
        if self.next_call_at is not None:
            self.next_call_at = moment

    async def _by_the_clock(self, input: DialInput) -> DialResult:
        """The dial as it was: calls `retry_gap` apart, days `day_gap` apart, at any hour."""
        while True:
            answer = await self._call(input)
            self.attempts += 1
            if answer.answer != "no_answer":
                return self._result(answer.answer)
            self.call += 1
            if self.call < input.calls_per_day:
                await self._sleep(timedelta(seconds=input.retry_gap))
            elif self.day < input.dial_days:
                await self._sleep(timedelta(seconds=input.day_gap))
                self.day, self.call = self.day + 1, 0
            else:
                return self._result(DialOutcome.UNREACHABLE)

    @workflow.signal
    def answer_task(self, answer: TaskAnswer) -> None:
        """A manager's call result, checked by the API before it arrives."""
        if answer.answer not in CALL_ANSWERS:
            workflow.logger.warning("ignoring answer %r to a call task", answer.answer)
            return
        self.answers[answer.task_id] = answer

    @workflow.signal(name=DIAL_REASSIGN)
    def reassign(self, change: Reassignment) -> None:
        """The order moved: the next call tasks go to the new assignee."""
        self.assignee_id = change.manager_id

    @workflow.signal(name=DIAL_HOLD)
    def hold(self, hold: DialHold) -> None:
        """The order's chase is paused until `hold.until` (None: resumed): no call task
        opens meanwhile, and the next call moves on by the pause."""
        # Versioning: a dial that heard this before pauses existed replays ignoring it.
        if workflow.patched(PAUSE):
            self.pause.change(moment(hold.until))

    @workflow.signal(name=DIAL_STOPPING)
    def stopping(self, stop: DialStop) -> None:
        """The parent says why it is about to cancel us."""
        self.stop_reason = stop.reason

    @workflow.query
    def counters(self) -> DialCounters:
        return DialCounters(
            self.day, self.call, self.attempts, self.open_task_id, self.next_call_at
        )

    async def _call(self, input: DialInput) -> TaskAnswer:
        await self.pause.sit_out()
        attempt = self.attempts + 1
        task_id = await open_task(
            f"{workflow.info().workflow_id}:call:{attempt}",
            TaskKind.CALL,
            (f"Call the customer (day {self.day}, call {self.call + 1})", CALL_ANSWERS),
            input.order_id,
            self.assignee_id,
            call=(self.day, self.call + 1),
        )
        self.open_task_id = task_id
        await workflow.wait_condition(lambda: task_id in self.answers)
        self.open_task_id = None
        return self.answers.pop(task_id)

    def _result(self, outcome: str) -> DialResult:
        return DialResult(outcome, self.day, self.call, self.attempts)
