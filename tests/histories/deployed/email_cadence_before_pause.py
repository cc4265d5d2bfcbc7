"""The email cadence as deployed with the order chase before `no-phone-check` and before
`pause`: their copies in this folder run it. The original docstring follows.

The customer email cadence (SPEC §1 D): objection emails, then a personal offer.

A branch of the order chase; it runs beside the manager process and stops the moment the
order is paid or cancelled (its host cancels it and every send re-checks the order). Every
email here is marketing: it goes out only inside the customer's send window, and the waits
for the open and for the purchase start when it has gone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.discounts import DiscountActivities, DiscountExpiry, DiscountGrant

    # Pure, but holds ZoneInfo objects, which the sandbox would wrap in proxies.
    from work_calendar import CalendarError, ChaseClock

from workflows.activity_policy import ACTIVITY_TIMEOUT, WRITE_RETRY

# Patch id: marketing emails wait for the customer's send window (OrderTimings.send_window).
SEND_WINDOW = "send-window"


class CadenceTimings(Protocol):
    """The durations of the host's OrderTimings this branch reads."""

    first_reminder: float
    open_wait: float
    purchase_wait: float
    offer_percent: int
    offer_valid: float
    objection_emails: list[str]
    time_scale: float


class CadenceHost(Protocol):
    """What the order chase offers its email branch."""

    order_id: str
    opened: set[str]

    @property
    def timings(self) -> CadenceTimings: ...

    def closed(self) -> bool: ...

    async def send_email(
        self,
        kind: str,
        step: str | None = None,
        discount_percent: int = 0,
        valid_until: datetime | None = None,
    ) -> str | None: ...


@dataclass
class Offer:
    """The personal offer made to the customer: a discount until a moment."""

    percent: int
    valid_until: datetime
    status: str  # active / expired / used


class EmailCadence:
    """Objection emails one block at a time while the order is unpaid, then the offer."""

    def __init__(self, host: CadenceHost) -> None:
        self.host = host
        self.step = "waiting"  # what the branch is doing, for queries and the web UI
        self.offer: Offer | None = None
        self.unsubscribed = False  # the customer wants no more marketing email
        # True once nothing is left to send or expire: the host may then continue as new
        # without this branch, which is never restarted.
        self.finished = False
        self.started = workflow.now()  # the chase clock's origin (CHASER_TIME_SCALE)
        # The next email's moment at the earliest: the current wait's end, or the window's
        # opening (for the order's view).
        self.next_email_at: datetime | None = None

    async def run(self) -> None:
        """The whole cadence; it returns early when the order is paid or cancelled."""
        await self._sequence()
        self.finished = True

    async def _sequence(self) -> None:
        """Each block: send, wait for the open, wait for payment; then the personal offer."""
        timings = self.host.timings
        self.step = "first_reminder"
        if await self._closed_within(timings.first_reminder):
            return
        for number, kind in enumerate(timings.objection_emails, start=1):
            self.step = kind
            if await self._send_window_opened():
                return
            # The step, numbered, keys the outbox: a product may send one template twice.
            message_id = await self.host.send_email(kind, step=f"cadence:{number}:{kind}")
            # An email that was never sent cannot be opened: go straight to the payment wait.
            if message_id is not None:
                self.step = f"{kind}:open_wait"
                if await self._opened_within(message_id, timings.open_wait):
                    return
            self.step = f"{kind}:purchase_wait"
            if await self._closed_within(timings.purchase_wait):
                return
        if timings.offer_percent > 0:
            await self._personal_offer()
        self.step = "done"

    async def _personal_offer(self) -> None:
        """SPEC §1 D, seed 001 §4: a discount valid for a while, an email that says so, expiry."""
        timings = self.host.timings
        self.step = "personal_offer"
        # Before the grant: the offer is valid for its whole time from the email on.
        if await self._send_window_opened():
            return
        key = f"{workflow.info().workflow_id}:discount:personal_offer"
        granted = await workflow.execute_activity_method(
            DiscountActivities.grant,
            DiscountGrant(
                key=key,
                order_id=self.host.order_id,
                percent=timings.offer_percent,
                valid_until=workflow.now() + timedelta(seconds=timings.offer_valid),
                at=workflow.now(),
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=WRITE_RETRY,
        )
        if not granted.granted or self._stopped():
            return
        self.offer = Offer(granted.percent, granted.valid_until, "active")
        await self.host.send_email(
            "personal_offer",
            discount_percent=granted.percent,
            valid_until=granted.valid_until,
        )
        self.step = "personal_offer:valid"
        # The offer stands once made: only payment or cancellation ends it early.
        await _wait(self.host.closed, _seconds_until(granted.valid_until))
        if self.host.closed():
            return
        expired = await workflow.execute_activity_method(
            DiscountActivities.expire,
            DiscountExpiry(key=key, order_id=self.host.order_id, at=workflow.now()),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=WRITE_RETRY,
        )
        self.offer.status = expired.status

    async def _send_window_opened(self) -> bool:
        """Wait until the customer's send window is open (not on their public holidays);
        True when the cadence must stop meanwhile."""
        # Versioning: chases started before the window have none in their input, and hosts
        # from before it (the order chase's copies in tests/histories/deployed) no such field.
        window = getattr(self.host.timings, "send_window", None)
        if window is None or not workflow.patched(SEND_WINDOW):
            return self._stopped()
        try:
            calendar = window.calendar()
        except CalendarError as error:
            # A zone this worker's tzdata lacks: no retry heals it.
            raise ApplicationError(str(error), type="CalendarError", non_retryable=True) from error
        clock = ChaseClock(self.started, self.host.timings.time_scale)
        now = clock.chase_time(workflow.now())
        opens = clock.workflow_time(calendar.next_open(now))
        return await self._closed_within(_seconds_until(opens))

    async def _opened_within(self, message_id: str, seconds: float) -> bool:
        """Wait for the email's tracking pixel; True when the cadence must stop."""
        # Unopened, the next email follows this wait and the purchase wait.
        after = seconds + self.host.timings.purchase_wait
        self.next_email_at = workflow.now() + timedelta(seconds=after)
        await _wait(lambda: message_id in self.host.opened or self._stopped(), seconds)
        self.next_email_at = None
        return self._stopped()

    async def _closed_within(self, seconds: float) -> bool:
        """Wait for payment (or cancellation); True when the cadence must stop."""
        self.next_email_at = workflow.now() + timedelta(seconds=seconds)
        await _wait(self._stopped, seconds)
        self.next_email_at = None
        return self._stopped()

    def _stopped(self) -> bool:
        """Paid, cancelled or unsubscribed: no more marketing email. A chase that never hears
        of an unsubscribe only waits longer: each send checks the suppression list."""
        return self.host.closed() or self.unsubscribed


async def _wait(condition: Callable[[], bool], seconds: float) -> None:
    if seconds <= 0 or condition():
        return
    try:
        await workflow.wait_condition(condition, timeout=seconds)
    except TimeoutError:
        pass


def _seconds_until(moment: datetime) -> float:
    return max((moment - workflow.now()).total_seconds(), 0.0)
