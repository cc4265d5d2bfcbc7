"""What the chases and their callers exchange: inputs, results, signals and the state a query
shows (and the offer the email cadence keeps), for the order chase, its dial child and their
pauses, the lead chase, the renewal and the check-in (the processes that run one per
customer, by the thousand; the jobs keep their one input beside them).

Data only (importing the standard library, domain.py and timings.py), passed through the
workflow sandbox (worker.SANDBOX_PASSTHROUGH): the dataclasses are built once per worker, not
again for every new chase (what a chase's first workflow task spent much of its CPU on).
"""

# No `from __future__ import annotations` (as timings.py): the sandbox decodes a
# passed-through input by its field types, which must be objects, not names to look up.
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

from domain import Stage
from timings import LeadTimings, OrderTimings, RenewalTimings

# A chase that loops through call-backs continues as new past this many events. One loop
# (dial child, three tasks, waits, an email) adds about 40 events to this workflow, so 2,000
# allows ~50 loops per run, keeps a replay well under a second, and stays far below the
# server's 10,240-event warning.
MAX_HISTORY_EVENTS = 2_000


class EmailTerms(TypedDict, total=False):
    """What a chase's email may offer beside its kind: a discount until a date, or an instalment."""

    discount_percent: int
    valid_until: datetime
    instalment: int


# The dial child by name: the order chase starts and signals it without importing
# workflows/dial.py, which the sandbox would otherwise import afresh for every new chase.
DIAL_WORKFLOW = "Dial"
DIAL_REASSIGN = "reassign"
DIAL_HOLD = "hold"
DIAL_STOPPING = "stopping"


@dataclass
class DialInput:
    order_id: str
    assignee_id: str | None
    dial_days: int
    calls_per_day: int
    retry_gap: float  # seconds between calls on one day
    day_gap: float  # seconds between the last call of a day and the first of the next
    # CHASER_TIME_SCALE: calls are placed on the real calendar, then every wait shrinks.
    time_scale: float = 1.0


@dataclass
class DialResult:
    outcome: str  # reached / wrong_number / duplicate / unreachable
    day: int
    call: int
    attempts: int


@dataclass
class DialStop:
    reason: str  # why the parent is about to cancel the dial, for the open task


@dataclass
class DialCounters:
    day: int
    call: int
    attempts: int
    open_task_id: int | None
    next_call_at: datetime | None = None  # when the next call task opens, while one waits


# Moments in signals travel as ISO 8601 text: inside the sandbox `datetime` is a restricted
# proxy that the payload converter cannot rebuild a signal's field into.


@dataclass
class ChasePause:
    """Stand still until `until`; a later pause replaces an earlier one."""

    seq: int  # the API's pause row id: a redelivered older change never undoes a newer one
    until: str
    reason: str


@dataclass
class ChaseResume:
    """End the pause now."""

    seq: int


@dataclass
class DialHold:
    """The parent's pause, passed on to its dial child (None: not paused)."""

    until: str | None


@dataclass
class Offer:
    """The personal offer the email cadence made the customer: a discount until a moment."""

    percent: int
    valid_until: datetime
    status: str  # active / expired / used


@dataclass
class OrderState:
    """What the order chase knows of itself, kept in one shape: `GET /v1/orders/{id}` shows it
    (the `state` query), and a chase that continues as new carries it into its next run, which
    resumes at a dial from the fields marked "carried" (the rest describe the moment)."""

    ends_at: datetime  # carried: the payment window's end
    stage: str = Stage.STARTED
    partially_paid: bool = False  # carried
    assignee_id: str | None = None  # carried
    open_task_id: int | None = None
    dials: int = 0  # carried
    dial_workflow_id: str | None = None
    last_dial: DialResult | None = None
    last_dial_workflow_id: str | None = None
    # When the manager process's current wait ends (the grace, a payment date...), and when
    # the next marketing email is due at the earliest.
    step_due_at: datetime | None = None
    next_email_at: datetime | None = None
    # While paused: until when, and why (carried).
    paused_until: datetime | None = None
    pause_reason: str | None = None
    # Carried, for the next run's keys and checks: phone changes, tasks opened (task keys),
    # events already applied and emails already opened (ids), the last pause change heard.
    phone_changes: int = 0
    tasks_opened: int = 0
    events_seen: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    pause_seq: int = 0


@dataclass
class OrderChaseInput:
    order_id: str
    has_phone: bool
    timings: OrderTimings
    max_history_events: int = MAX_HISTORY_EVENTS
    # A run that continues a long chase resumes at a dial from what the last run knew.
    resume: OrderState | None = None


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


# The lead chase.


@dataclass
class LeadChaseInput:
    lead_id: str
    # The lead's n-th chase. One workflow id serves every chase of a lead, so the
    # idempotency keys carry the number: a new chase never finds an old one's emails.
    chase_number: int
    timings: LeadTimings


@dataclass
class LeadChaseResult:
    reason: str  # no_response / replied / status_changed / email_failed / superseded
    rounds: int
    emails_sent: int


@dataclass
class StopChase:
    event_id: str
    reason: str  # replied / status_changed


@dataclass
class LeadChaseState:
    """A running chase's progress as it stands now (a query: for operators and the history
    recorder; `GET /v1/leads/{id}` shows the copy the chase stores before every wait)."""

    chase_number: int
    round: int
    emails_sent: int
    next_email_due: datetime | None
    stopped_reason: str | None


# The renewal of a subscription.


@dataclass
class RenewalInput:
    subscription_id: str
    period: int  # 1-based; the next run after a renewal follows period + 1
    # ISO 8601: a continued run gets it back through the sandbox, which cannot rebuild a
    # `datetime` input field (its datetime is a restricted proxy).
    period_ends_at: str
    timings: RenewalTimings
    # Backend events already heard, carried into the next period so a redelivery is harmless.
    events_seen: list[str] = field(default_factory=list)


@dataclass
class RenewalResult:
    period: int
    outcome: str  # RenewalOutcome


# Moments in signals are ISO 8601 strings, as in RenewalInput: the sandbox cannot rebuild a
# `datetime` field of a dataclass.


@dataclass
class SubscriptionRenewed:
    event_id: str
    period: int  # the period it renews: a late redelivery to the next period is ignored
    next_period_ends_at: str


@dataclass
class SubscriptionCancelled:
    event_id: str


@dataclass
class PeriodChanged:
    event_id: str
    period_ends_at: str


@dataclass
class RenewalState:
    """What `GET /v1/subscriptions/{id}` shows of the running period."""

    period: int
    period_ends_at: datetime  # on the real calendar, as the backend gave it
    next_step: str | None  # notice:<days> or call
    next_step_at: datetime | None  # when it falls, by the workflow's clock
    call_task_id: int | None
    call_answer: str | None


# The check-in after a purchase.


@dataclass
class CheckinInput:
    order_id: str
    wait: float  # seconds after the payment (CHECKIN_AFTER, after CHASER_TIME_SCALE)
    send_email: bool  # CHECKIN_EMAIL: the customer is asked too, by email


@dataclass
class CheckinResult:
    answer: str  # happy / offer_accepted / not_interested / no_answer


@dataclass
class CheckinState:
    """Where the check-in is: waiting, or the task open for an answer."""

    due_at: str  # ISO 8601, by the workflow's clock
    task_id: int | None
    answer: str | None
