"""Subscription renewals (seed 003, "a renewable process"): `renewal-<subscription_id>` follows
one period of a subscription, then continues as new for the next one when it is renewed.

Before the period ends: a reminder email with the renewal link at each of RENEWAL_NOTICES
(7 and 1 days by default), and at RENEWAL_CALL_BEFORE (3 days) a call task for the customer's
manager, opened at a working moment of theirs. The period ends renewed (the backend's
`renewed` event, positive), cancelled (`cancelled`) or lapsed (its end passed, negative).

Times come from the backend on the real calendar; CHASER_TIME_SCALE shrinks every wait
towards them (work_calendar.ChaseClock), so a month can be walked in minutes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.calendars import CalendarActivities, WhoseCalendar
    from activities.renewals import ManagerOf, PeriodEnd, RenewalActivities, RenewalEmail
    from timings import DAY

    # Pure, but holds ZoneInfo objects, which the sandbox would wrap in proxies.
    from work_calendar import CalendarError, ChaseClock

from domain import RenewalOutcome, TaskKind
from workflows.activity_calls import db_activity, email_activity, open_task
from workflows.messages import (
    PeriodChanged,
    RenewalInput,
    RenewalResult,
    RenewalState,
    SubscriptionCancelled,
    SubscriptionRenewed,
)
from workflows.tasks import RENEWAL_CALL, TaskAnswer

CALL_STEP = "call"


@dataclass(frozen=True)
class _Step:
    name: str  # notice:<days> or call
    before: float  # seconds before the period's end


@workflow.defn
class Renewal:
    """Remind and call before a subscription period ends; continue as new when renewed."""

    @workflow.init
    def __init__(self, input: RenewalInput) -> None:
        self.subscription_id = input.subscription_id
        self.period = input.period
        self.timings = input.timings
        self.clock = ChaseClock(workflow.now(), input.timings.time_scale)
        self.ends_at = datetime.fromisoformat(input.period_ends_at)
        self.events_seen: set[str] = set(input.events_seen)
        self.renewed_until: datetime | None = None
        self.cancelled = False
        self.ending = False  # the period is over: the call stops waiting
        self.answers: dict[int, TaskAnswer] = {}
        self.call_task_id: int | None = None
        self.call_answer: str | None = None
        self.call: asyncio.Task[None] | None = None
        # Bumped when the period's end moves: its steps are armed afresh, with new keys.
        self.schedule = 0
        self.armed: set[_Step] = set()
        self.next_step: _Step | None = None

    @workflow.run
    async def run(self, input: RenewalInput) -> RenewalResult:
        self._arm()
        outcome = await self._follow_period()
        self.ending = True
        if self.call is not None:
            await self.call  # it returns at once: every wait in it ends with the period
        await db_activity(
            RenewalActivities.finish_period,
            PeriodEnd(
                key=self._key(f"end:{outcome}"),
                subscription_id=self.subscription_id,
                period=self.period,
                period_ends_at=self.ends_at,
                outcome=outcome,
                call_answer=self.call_answer,
                at=workflow.now(),
            ),
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        # Money wins: a renewal heard while a lapse was being written goes on to the next period.
        if self.renewed_until is not None:
            workflow.continue_as_new(
                RenewalInput(
                    subscription_id=self.subscription_id,
                    period=self.period + 1,
                    period_ends_at=self.renewed_until.isoformat(),
                    timings=self.timings,
                    events_seen=sorted(self.events_seen),
                )
            )
        return RenewalResult(self.period, outcome)

    # --- signals and the query ------------------------------------------------------

    @workflow.signal
    def renew(self, renewed: SubscriptionRenewed) -> None:
        """Paid for the next period: this one ends renewed (or, heard as it lapses, the next
        period is followed all the same)."""
        if renewed.period != self.period or self.cancelled or self.renewed_until is not None:
            return
        if self._first_time(renewed.event_id):
            self.renewed_until = datetime.fromisoformat(renewed.next_period_ends_at)

    @workflow.signal
    def cancel(self, cancelled: SubscriptionCancelled) -> None:
        """The backend cancelled the subscription: no more reminders, the period ends."""
        if not self._over() and self._first_time(cancelled.event_id):
            self.cancelled = True

    @workflow.signal
    def change_period(self, changed: PeriodChanged) -> None:
        """The period ends at another moment: the reminders still ahead follow it."""
        if not self._over() and not self.ending and self._first_time(changed.event_id):
            self.ends_at = datetime.fromisoformat(changed.period_ends_at)
            self.schedule += 1
            self._arm()

    @workflow.signal
    def answer_task(self, answer: TaskAnswer) -> None:
        """The manager's call result; the API has checked it against the task first."""
        self.answers.setdefault(answer.task_id, answer)

    @workflow.query
    def state(self) -> RenewalState:
        step = self.next_step
        return RenewalState(
            period=self.period,
            period_ends_at=self.ends_at,
            next_step=step.name if step else None,
            next_step_at=self._workflow_time(step) if step else None,
            call_task_id=self.call_task_id,
            call_answer=self.call_answer,
        )

    # --- the period -----------------------------------------------------------------

    async def _follow_period(self) -> str:
        """Take each step when it falls due, until the period ends one way or another."""
        while not self._over():
            # The earliest step; by name among equals, so that a replay picks the same one.
            step = min(self.armed, key=lambda s: (-s.before, s.name), default=None)
            self.next_step = step
            due = self.ends_at if step is None else self.ends_at - timedelta(seconds=step.before)
            news = self._news_since(self.schedule)
            await self._wait(news, self._until(due))
            if news():
                continue
            if workflow.now() >= self.clock.workflow_time(self.ends_at):
                break
            if step is not None and step in self.armed:
                self.armed.discard(step)
                await self._take(step)
        self.next_step = None
        if self.renewed_until is not None:
            return RenewalOutcome.RENEWED
        return RenewalOutcome.CANCELLED if self.cancelled else RenewalOutcome.LAPSED

    def _arm(self) -> None:
        """The steps still ahead of the period's end. A reminder already past is not made up
        for (a subscription posted two days before its end gets no seven-day reminder); the
        call is, at once: there is still time to talk."""
        t = self.timings
        now = self.clock.chase_time(workflow.now())
        steps = {_Step(f"notice:{round(before / DAY)}", before) for before in t.notices}
        if self.call_answer == "declined":
            steps = set()
        self.armed = {s for s in steps if self.ends_at - timedelta(seconds=s.before) > now}
        if self.call is None and self.ends_at > now:
            self.armed.add(_Step(CALL_STEP, t.call_before))

    async def _take(self, step: _Step) -> None:
        if step.name == CALL_STEP:
            # Beside the reminders: the task waits for its answer while they go out.
            self.call = asyncio.create_task(self._renewal_call())
            return
        try:
            await email_activity(
                RenewalActivities.send_renewal_email,
                RenewalEmail(
                    key=self._key(f"{self.schedule}:{step.name}"),
                    subscription_id=self.subscription_id,
                    period=self.period,
                    days_left=max(1, round(step.before / DAY)),
                    at=workflow.now(),
                ),
            )
        except ActivityError as error:
            # Refused for good (recorded as email_failed): the call and the period go on.
            workflow.logger.warning("reminder to %s not sent: %s", self.subscription_id, error)

    async def _renewal_call(self) -> None:
        """A call task for the customer's manager (or the pool), at a working moment of theirs."""
        manager = await db_activity(
            RenewalActivities.renewal_manager,
            ManagerOf(self.subscription_id),
        )
        spec = await db_activity(
            CalendarActivities.working_calendar,
            WhoseCalendar(manager, workflow.now()),
        )
        now = self.clock.chase_time(workflow.now())
        try:
            opens = spec.calendar().next_open(now)
        except CalendarError as error:
            # Hours the API let through but this tzdata lacks: better a call now than none.
            workflow.logger.warning("renewal call of %s: %s", self.subscription_id, error)
            opens = now
        await self._wait(lambda: self.ending, self._until(opens))
        if self.ending:
            return
        task_id = await open_task(
            self._key(f"task:{TaskKind.RENEWAL_CALL}"),
            TaskKind.RENEWAL_CALL,
            RENEWAL_CALL,
            None,
            manager,
            subscription_id=self.subscription_id,
        )
        self.call_task_id = task_id
        await self._wait(lambda: task_id in self.answers or self.ending)
        self.call_task_id = None
        if task_id in self.answers:
            self.call_answer = self.answers[task_id].answer
            if self.call_answer == "declined":
                # They said no: no more reminders this period; it lapses at its end.
                self.armed = {s for s in self.armed if s.name == CALL_STEP}

    async def _wait(self, condition: Callable[[], bool], seconds: float | None = None) -> None:
        """Wait for `condition`, at most `seconds` (None: for ever; 0: not at all)."""
        if seconds is not None and seconds <= 0:
            return
        try:
            await workflow.wait_condition(condition, timeout=seconds)
        except TimeoutError:
            pass

    # --- shared steps ---------------------------------------------------------------

    def _news_since(self, schedule: int) -> Callable[[], bool]:
        """Whether the period is over, or its end has moved since `schedule`."""
        return lambda: self._over() or self.schedule != schedule

    def _over(self) -> bool:
        return self.renewed_until is not None or self.cancelled

    def _first_time(self, event_id: str) -> bool:
        """Events are deduplicated here too: the API's check and a redelivery may overlap."""
        if event_id in self.events_seen:
            return False
        self.events_seen.add(event_id)
        return True

    def _workflow_time(self, step: _Step) -> datetime:
        return self.clock.workflow_time(self.ends_at - timedelta(seconds=step.before))

    def _until(self, chase_moment: datetime) -> float:
        """Seconds of workflow time until a moment on the real calendar."""
        return max((self.clock.workflow_time(chase_moment) - workflow.now()).total_seconds(), 0.0)

    def _key(self, step: str) -> str:
        """Idempotency key of a side effect: the workflow id, the period and the step."""
        return f"{workflow.info().workflow_id}:{self.period}:{step}"
