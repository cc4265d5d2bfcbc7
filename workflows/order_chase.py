"""The order chase: one workflow per unpaid order, `order-<id>`, until it is paid or given up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.emails import EmailActivities, OrderEmail
    from activities.orders import OrderActivities, OrderEnd, StatusChange

from workflows.email_cadence import EmailCadence

# Every side effect is a short database write or one email.
ACTIVITY_TIMEOUT = timedelta(seconds=60)
# A mail server that is down for hours must not lose the email: back off, keep trying.
EMAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=10)
)


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
class OrderChaseInput:
    order_id: str
    has_phone: bool
    timings: OrderTimings


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
        self.ends_at = workflow.now() + timedelta(seconds=input.timings.payment_window)
        self.stage = "started"
        self.partially_paid = False
        self.has_phone = input.has_phone
        self.end: _End | None = None
        self.events_seen: set[str] = set()
        self.opened: set[str] = set()  # message ids of emails the customer opened
        self.cadence = EmailCadence(self)

    @workflow.run
    async def run(self, input: OrderChaseInput) -> OrderChaseResult:
        await self.send_email("order_received")
        self.stage = "awaiting_payment"
        # The branches of SPEC §1 run side by side; the payment watch below outlives them all.
        branches = [asyncio.create_task(self.cadence.run())]
        try:
            await workflow.wait_condition(
                lambda: self.end is not None or _failed(branches), timeout=self._until(self.ends_at)
            )
        except TimeoutError:
            self.end = _End("cancelled", "negative", "expired")
        for branch in branches:
            if _failed([branch]):
                raise branch.exception()  # type: ignore[misc]  # a bug in a branch fails loudly
            branch.cancel()
        assert self.end is not None
        await self._finish(self.end)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return OrderChaseResult(self.end.status, self.end.outcome, self.end.reason)

    @workflow.signal
    async def record_payment(self, payment: PaymentReceived) -> None:
        """A full payment ends the chase; a partial one is recorded and read by later checks."""
        if not self._first_time(payment.event_id):
            return
        if payment.full:
            self.end = _End("paid", "positive", "paid")
            return
        self.partially_paid = True
        await self._set_status("partially_paid")

    @workflow.signal
    def cancel(self, cancelled: OrderCancelled) -> None:
        """The backend cancelled the order: the chase ends, the customer hears nothing more."""
        if self._first_time(cancelled.event_id):
            self.end = _End("cancelled", "negative", "cancelled")

    @workflow.signal
    def change_phone(self, changed: PhoneChanged) -> None:
        """The customer's phone arrived or changed: the next dial uses it."""
        if self._first_time(changed.event_id):
            self.has_phone = True

    @workflow.signal
    def email_opened(self, opened: EmailOpened) -> None:
        """The tracking pixel of one of this order's emails was loaded."""
        self.opened.add(opened.message_id)

    def closed(self) -> bool:
        """Paid, cancelled or given up: no branch may act any more."""
        return self.end is not None

    @workflow.query
    def state(self) -> OrderState:
        return OrderState(
            stage=self.stage, partially_paid=self.partially_paid, ends_at=self.ends_at
        )

    def _first_time(self, event_id: str) -> bool:
        """Events are deduplicated here too: the API's check and a replayed signal may overlap."""
        if event_id in self.events_seen or self.end is not None:
            return False
        self.events_seen.add(event_id)
        return True

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
