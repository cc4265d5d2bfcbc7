"""What a process is started with: its durations and calendars (SPEC §6), fixed at the start.

Plain dataclasses, standard library only: settings builds them, and the workflows carry them in
their inputs.
"""

# No `from __future__ import annotations` here: the field types stay objects, not names. A
# workflow that imports an input holding these (OrderChaseInput) through the sandbox's
# pass-through decodes it by the types' hints, which a string would make the sandbox look up
# in its own module table, where this module need not be.
from collections.abc import Mapping
from dataclasses import dataclass, field

from work_calendar import CalendarSpec

DAY = 86_400.0


@dataclass
class TermsTimings:
    """The bounds and durations of special terms, in seconds (scaled) like OrderTimings.
    Chases started before these terms existed get the defaults, unscaled."""

    max_discount: int = 10  # MAX_MANAGER_DISCOUNT, percent
    max_instalments: int = 6
    first_due: float = 3 * DAY  # plan -> first part due
    interval: float = 30 * DAY  # between due dates
    notice: float = DAY  # the reminder email before a due date
    grace: float = 7 * DAY  # the chase outlasts the last due date by this much


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
    # Discounts and instalments agreed on a call (workflows/special_terms.py).
    terms: TermsTimings = field(default_factory=TermsTimings)
    # PAUSE_EXTENDS_WINDOW: a pause moves the payment window's end by its length.
    pause_extends_window: bool = False


@dataclass
class LeadTimings:
    """SPEC §2 as configured when the chase starts; a running chase keeps these."""

    interval_business_days: int
    rounds: int
    timezone: str
    holidays: list[str] = field(default_factory=list)  # ISO dates: every day off
    # CHASER_TIME_SCALE: due moments are found on the real calendar, then every wait shrinks.
    time_scale: float = 1.0
    working_days: list[str] = field(default_factory=list)  # ISO dates: transferred ones


@dataclass
class RenewalTimings:
    """When the steps fall, in seconds before the period ends on the real calendar."""

    notices: list[float]  # RENEWAL_NOTICES: a reminder email at each
    call_before: float  # RENEWAL_CALL_BEFORE: the call task
    time_scale: float = 1.0  # CHASER_TIME_SCALE


@dataclass(frozen=True)
class CheckinSetup:
    """CHECKIN_AFTER and CHECKIN_EMAIL: which products get a check-in, how long after."""

    after: Mapping[str, float] = field(default_factory=dict)  # product id -> seconds (scaled)
    send_email: bool = True
