"""Special payment terms agreed on a call (seed 003: "the customer wants special terms —
instalments, a discount"), answers to "Will the order be paid?" in the order chase.

A discount is granted like the personal offer (a discount row, its expiry, the payment link
carrying it) and told to the customer by email; the chase then asks for the payment date as
after `yes`. Instalments record a plan; before each part's due date the customer gets a
reminder, and a part still short at its due date gives the assignee a call task inside their
working hours. Payments are not tied to parts: the order's paid amount covers them in order,
and the order is paid when it reaches the amount, as for any order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.calendars import CalendarActivities, WhoseCalendar
    from activities.discounts import DiscountActivities, DiscountExpiry, DiscountGrant
    from activities.instalments import InstalmentActivities, Part, PartCheck, PlanRequest
    from activities.tasks import CloseTask, TaskActivities
    from timings import TermsTimings

    # Pure, but holds ZoneInfo objects, which the sandbox would wrap in proxies.
    from work_calendar import CalendarError, ChaseClock

from domain import OrderStatus, Stage, TaskKind
from workflows.activity_calls import db_activity
from workflows.email_cadence import CadenceHost
from workflows.tasks import TaskAnswer
from workflows.waits import seconds_until, wait_at_most


class TermsHost(CadenceHost, Protocol):
    """What the order chase offers the special terms, beside what it offers its emails."""

    assignee_id: str | None
    partially_paid: bool
    ends_at: datetime
    dials: int
    answers: dict[int, TaskAnswer]
    stage: str

    async def _open_task(
        self, kind: str, pool: bool = False, numbers: tuple[int, int] | None = None
    ) -> int: ...

    async def _ask(
        self, kind: str, pool: bool = False, numbers: tuple[int, int] | None = None
    ) -> TaskAnswer: ...

    async def _wait(self, condition: Callable[[], bool], seconds: float | None = None) -> bool: ...

    async def _set_status(self, status: str, reason: str | None = None) -> None: ...

    def _key(self, step: str) -> str: ...


class SpecialTerms:
    """The discount and instalment answers of one chase, and what they leave running."""

    def __init__(self, host: TermsHost) -> None:
        self.host = host
        # A granted discount's expiry runs beside the chase; the host stops it at the end.
        self.beside: list[asyncio.Task[None]] = []
        self.plan: list[Part] = []

    @property
    def timings(self) -> TermsTimings:
        return self.host.timings.terms

    async def discount(self) -> None:
        """Ask the percent and validity, grant it, tell the customer."""
        host = self.host
        answer = await host._ask(TaskKind.DISCOUNT, numbers=(1, self.timings.max_discount))
        assert answer.number is not None, "the API passes number answers with their number"
        now = workflow.now()
        if answer.at is not None:
            valid_until = answer.at
        else:
            assert answer.valid_days is not None, "the API demands a validity"
            days = timedelta(days=answer.valid_days) * host.timings.time_scale
            valid_until = now + days
        key = host._key(f"discount:manager:{host.dials}")
        granted = await db_activity(
            DiscountActivities.grant,
            DiscountGrant(key, host.order_id, answer.number, valid_until, now),
        )
        if not granted.granted:
            return  # the order closed meanwhile: the chase is ending
        await host.send_email(
            "manager_discount",
            step=f"manager_discount:{host.dials}",
            discount_percent=granted.percent,
            valid_until=granted.valid_until,
        )
        self.beside.append(asyncio.create_task(self._expire(key, granted.valid_until)))

    async def _expire(self, key: str, valid_until: datetime) -> None:
        await wait_at_most(self.host.closed, seconds_until(valid_until))
        if self.host.closed():
            return
        await db_activity(
            DiscountActivities.expire,
            DiscountExpiry(key=key, order_id=self.host.order_id, at=workflow.now()),
        )

    async def instalments(self) -> None:
        """Ask the number of parts, record the plan and follow it; returns only by the
        chase's end (the payments adding up, a cancel, the window's end)."""
        host, t = self.host, self.timings
        answer = await host._ask(TaskKind.INSTALMENTS, numbers=(2, t.max_instalments))
        assert answer.number is not None, "the API passes number answers with their number"
        now = workflow.now()
        self.plan = await db_activity(
            InstalmentActivities.record_plan,
            PlanRequest(
                key=host._key("instalments:plan"),
                order_id=host.order_id,
                parts=answer.number,
                first_due=now + timedelta(seconds=t.first_due),
                interval=t.interval,
                at=now,
            ),
        )
        # The plan outlasts the payment window: the chase waits for its last part.
        host.ends_at = max(host.ends_at, self.plan[-1].due_at + timedelta(seconds=t.grace))
        if not host.partially_paid:
            await host._set_status(OrderStatus.PAYMENT_PENDING, "instalments")
        notice = timedelta(seconds=t.notice)
        for index, part in enumerate(self.plan):
            host.stage = f"instalment_{part.number}"
            await host._wait(lambda: False, seconds_until(part.due_at - notice))
            if not await self._covered(part, final=False):
                await host.send_email(
                    "instalment_reminder",
                    step=f"instalment_reminder:{part.number}",
                    instalment=part.number,
                )
            await host._wait(lambda: False, seconds_until(part.due_at))
            if await self._covered(part, final=True):
                continue
            later = self.plan[index + 1 :]
            await self._call(later[0].due_at - notice if later else None)
        host.stage = Stage.INSTALMENTS_DUE
        await host._wait(lambda: False)

    async def _covered(self, part: Part, final: bool) -> bool:
        state = await db_activity(
            InstalmentActivities.check_part,
            PartCheck(
                key=self.host._key(f"instalment:{part.number}:missed"),
                order_id=self.host.order_id,
                number=part.number,
                at=workflow.now(),
                final=final,
            ),
        )
        return state.covered

    async def _call(self, until: datetime | None) -> None:
        """A call task for the assignee once their working hours open; unanswered by the
        next part's reminder it closes, and that part takes over."""
        host = self.host
        spec = await db_activity(
            CalendarActivities.working_calendar,
            WhoseCalendar(host.assignee_id, workflow.now()),
        )
        try:
            calendar = spec.calendar()
        except CalendarError as error:
            # A zone or hours this worker's tzdata lacks: no retry heals it.
            raise ApplicationError(str(error), type="CalendarError", non_retryable=True) from error
        clock = ChaseClock(workflow.now(), host.timings.time_scale)
        opens = clock.workflow_time(calendar.next_open(clock.started))
        await host._wait(lambda: False, seconds_until(opens))
        task_id = await host._open_task(TaskKind.INSTALMENT_CALL)
        seconds = None if until is None else seconds_until(until)
        if not await host._wait(lambda: task_id in host.answers, seconds):
            await db_activity(
                TaskActivities.close_task,
                CloseTask(task_id, "the next instalment is due", workflow.now()),
            )
