"""The customer email cadence (SPEC §1 D): objection emails, then a personal offer.

A branch of the order chase; it runs beside the manager process and stops the moment the
order is paid or cancelled (its host cancels it and every send re-checks the order). Every
email here is marketing: it goes out only inside the customer's send window, and the waits
for the open and for the purchase start when it has gone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol, Unpack

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.discounts import DiscountActivities, DiscountExpiry, DiscountGrant
    from timings import OrderTimings

    # Pure, but holds ZoneInfo objects, which the sandbox would wrap in proxies.
    from work_calendar import CalendarError, ChaseClock

from domain import OfferStatus
from workflows.activity_calls import db_activity
from workflows.messages import EmailTerms, Offer
from workflows.patch_ids import SEND_WINDOW
from workflows.pause import Pause
from workflows.waits import seconds_until, wait_at_most


class CadenceHost(Protocol):
    """What the order chase offers its email branch (and, with more, its special terms)."""

    order_id: str
    timings: OrderTimings
    opened: set[str]

    def closed(self) -> bool: ...

    async def send_email(
        self, kind: str, step: str | None = None, **terms: Unpack[EmailTerms]
    ) -> str | None: ...


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
        # The chase's pause: the cadence's waits stand still with it. Hosts from before
        # pauses (the copies in tests/histories/deployed) have none: a pause never made.
        self.pause: Pause = getattr(host, "pause", None) or Pause()

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
        granted = await db_activity(
            DiscountActivities.grant,
            DiscountGrant(
                key=key,
                order_id=self.host.order_id,
                percent=timings.offer_percent,
                valid_until=workflow.now() + timedelta(seconds=timings.offer_valid),
                at=workflow.now(),
            ),
        )
        if not granted.granted or self._stopped():
            return
        self.offer = Offer(granted.percent, granted.valid_until, OfferStatus.ACTIVE)
        await self.host.send_email(
            "personal_offer",
            discount_percent=granted.percent,
            valid_until=granted.valid_until,
        )
        self.step = "personal_offer:valid"
        # The offer stands once made: only payment or cancellation ends it early. Its end is
        # a date the customer was told, so a pause does not move it.
        await wait_at_most(self.host.closed, seconds_until(granted.valid_until))
        if self.host.closed():
            return
        expired = await db_activity(
            DiscountActivities.expire,
            DiscountExpiry(key=key, order_id=self.host.order_id, at=workflow.now()),
        )
        self.offer.status = expired.status

    async def _send_window_opened(self) -> bool:
        """Wait until the customer's send window is open (not on their public holidays);
        True when the cadence must stop meanwhile. A paused chase waits for its end first."""
        await self.pause.sit_out(self._stopped)
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
        return await self._closed_within(seconds_until(opens))

    async def _opened_within(self, message_id: str, seconds: float) -> bool:
        """Wait for the email's tracking pixel; True when the cadence must stop."""
        # Unopened, the next email follows this wait and the purchase wait.
        purchase_wait = timedelta(seconds=self.host.timings.purchase_wait)
        self.next_email_at = workflow.now() + timedelta(seconds=seconds) + purchase_wait
        await self._wait(
            lambda: message_id in self.host.opened or self._stopped(),
            seconds,
            lambda due: self._next_email(due + purchase_wait),
        )
        self.next_email_at = None
        return self._stopped()

    async def _closed_within(self, seconds: float) -> bool:
        """Wait for payment (or cancellation); True when the cadence must stop."""
        self.next_email_at = workflow.now() + timedelta(seconds=seconds)
        await self._wait(self._stopped, seconds, self._next_email)
        self.next_email_at = None
        return self._stopped()

    def _next_email(self, at: datetime) -> None:
        self.next_email_at = at

    async def _wait(
        self, condition: Callable[[], bool], seconds: float, due: Callable[[datetime], None]
    ) -> None:
        """Wait for `condition` at most `seconds`, standing still while the chase is paused."""
        if seconds <= 0 or condition():
            return
        try:
            await self.pause.wait_condition(condition, seconds, due)
        except TimeoutError:
            pass

    def _stopped(self) -> bool:
        """Paid, cancelled or unsubscribed: no more marketing email. A chase that never hears
        of an unsubscribe only waits longer: each send checks the suppression list."""
        return self.host.closed() or self.unsubscribed
