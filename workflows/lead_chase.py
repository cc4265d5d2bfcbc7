"""The lead chase (SPEC §2): `lead-<id>` follows up a quiet lead on business days."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from domain import LEAD_CHASING, EmailStatus, LeadStopReason
from workflows.patch_ids import SEARCH_ATTRIBUTES
from workflows.search_attributes import LEAD_STATUS

with workflow.unsafe.imports_passed_through():
    from activities.leads import ChaseProgress, LeadActivities, LeadEmail, ManagerNotice

    # Pure and deterministic, but it holds ZoneInfo objects, which the sandbox would
    # otherwise wrap in proxies that datetime refuses as a tzinfo.
    from work_calendar import ALL_DAY, Calendar, CalendarError, ChaseClock

from workflows.activity_calls import db_activity, email_activity
from workflows.messages import LeadChaseInput, LeadChaseResult, LeadChaseState, StopChase

# Each round: email #1 ("has a decision been made?"), then email #2 ("we would really like...").
FOLLOW_UPS = ("lead_followup_1", "lead_followup_2")


@workflow.defn
class LeadChase:
    """Chase one lead: rounds of two follow-ups, each after a wait of business days."""

    @workflow.init
    def __init__(self, input: LeadChaseInput) -> None:
        self.lead_id = input.lead_id
        self.chase_number = input.chase_number
        self.timings = input.timings
        self.clock = ChaseClock(workflow.now(), input.timings.time_scale)
        self.round = 0
        self.emails_sent = 0
        self.next_email_due: datetime | None = None
        self.stopped_reason: str | None = None

    @workflow.run
    async def run(self, input: LeadChaseInput) -> LeadChaseResult:
        # Versioning: chases started before the attribute existed replay without the upserts.
        searchable = workflow.patched(SEARCH_ATTRIBUTES)
        if searchable:
            workflow.upsert_search_attributes([LEAD_STATUS.value_set(LEAD_CHASING)])
        calendar = self._calendar()
        due = self.clock.started
        steps = [(r, n) for r in range(1, self.timings.rounds + 1) for n in (1, 2)]
        for round_, number in steps:
            self.round = round_
            due = self._next_due(calendar, due)
            await self._wait_until(due)
            if self.stopped_reason is None:
                await self._follow_up(number)
            if self.stopped_reason is not None:
                break
        else:
            self.stopped_reason = LeadStopReason.NO_RESPONSE
        self.next_email_due = None
        await self._save()
        if searchable:
            workflow.upsert_search_attributes([LEAD_STATUS.value_set(self.stopped_reason)])
        await workflow.wait_condition(workflow.all_handlers_finished)
        return LeadChaseResult(self.stopped_reason, self.round, self.emails_sent)

    @workflow.signal
    def stop(self, stop: StopChase) -> None:
        """The lead replied or left Chasing: no follow-up goes out after this."""
        self._stop(stop.reason)

    @workflow.query
    def state(self) -> LeadChaseState:
        return LeadChaseState(
            chase_number=self.chase_number,
            round=self.round,
            emails_sent=self.emails_sent,
            next_email_due=self.next_email_due,
            stopped_reason=self.stopped_reason,
        )

    def _stop(self, reason: str) -> None:
        if self.stopped_reason is None:  # the first reason stands
            self.stopped_reason = reason

    def _calendar(self) -> Calendar:
        t = self.timings
        try:
            return Calendar.of(t.timezone, ALL_DAY, t.holidays, t.working_days)
        except CalendarError as error:
            # A bad zone or holiday will not heal on retry: fail the chase, visibly.
            raise ApplicationError(str(error), type="CalendarError", non_retryable=True) from error

    def _next_due(self, calendar: Calendar, previous: datetime) -> datetime:
        """The next follow-up's moment on the chase clock, counted from the previous due one.

        Counting from the previous due moment (not from when the email went out) keeps
        the time of day exact. Only if the worker was away for longer than a whole
        interval is the count restarted from now, so a backlog is not sent in a burst.
        """
        days = self.timings.interval_business_days
        due = calendar.add_working_days(previous, days).astimezone(UTC)
        now = self.clock.chase_time(workflow.now())
        if due <= now:
            due = calendar.add_working_days(now, days).astimezone(UTC)
        return due

    async def _wait_until(self, due: datetime) -> None:
        """Sleep until `due` (chase clock) or until a stop, whichever comes first."""
        self.next_email_due = self.clock.workflow_time(due)
        await self._save()
        timeout = (self.next_email_due - workflow.now()).total_seconds()
        if timeout > 0:
            try:
                await workflow.wait_condition(
                    lambda: self.stopped_reason is not None, timeout=timeout
                )
            except TimeoutError:
                pass
        self.next_email_due = None  # due now: no longer ahead

    async def _follow_up(self, number: int) -> None:
        """Email #`number` of the round, then the notice to the manager that it went out."""
        step = f"{self.round}:{number}"
        try:
            sent = await email_activity(
                LeadActivities.send_lead_email,
                LeadEmail(
                    key=self._key(f"email:{step}"),
                    lead_id=self.lead_id,
                    chase_number=self.chase_number,
                    kind=FOLLOW_UPS[number - 1],
                    round=self.round,
                    at=workflow.now(),
                ),
            )
        except ActivityError as error:
            # Only permanent failures get here (a refused address): more would fail alike.
            workflow.logger.warning("follow-up to lead %s not sent: %s", self.lead_id, error)
            self._stop(LeadStopReason.EMAIL_FAILED)
            return
        if sent.status != EmailStatus.SENT or sent.message_id is None:
            self._stop(sent.reason or LeadStopReason.STOPPED)
            return
        self.emails_sent += 1
        await email_activity(
            LeadActivities.notify_manager,
            ManagerNotice(
                key=self._key(f"notice:{step}"),
                lead_id=self.lead_id,
                chase_number=self.chase_number,
                message_id=sent.message_id,
                round=self.round,
                number=self.emails_sent,
                total=self.timings.rounds * len(FOLLOW_UPS),
                at=workflow.now(),
            ),
        )

    async def _save(self) -> None:
        await db_activity(
            LeadActivities.save_chase_state,
            ChaseProgress(
                key=self._key("stopped"),
                lead_id=self.lead_id,
                chase_number=self.chase_number,
                round=self.round,
                emails_sent=self.emails_sent,
                next_email_due=self.next_email_due,
                stopped_reason=self.stopped_reason,
                at=workflow.now(),
            ),
        )

    def _key(self, step: str) -> str:
        """Idempotency key of a side effect: the workflow id, the chase number and the step."""
        return f"{workflow.info().workflow_id}:{self.chase_number}:{step}"
