"""Manager tasks as the workflows see them: kinds, their allowed answers, and the answer signal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

CALL_ANSWERS = ("reached", "no_answer", "wrong_number", "duplicate")

# kind -> (title, allowed answers); an empty list means the answer is a date-time (`at`),
# or for the kinds in NUMBER_TASKS a whole number (`number`).
ORDER_TASKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "take_order": ("Take the order?", ("yes", "duplicate", "mistake")),
    "ask_phone": ("Ask the customer for a phone?", ("send", "skip")),
    "no_phone_check": ("No phone for 5 days — check the order", ("wait", "cancel")),
    "will_pay": ("Will the order be paid?", ("yes", "no", "discount", "instalments")),
    "discount": ("Which discount, until when?", ()),
    "instalments": ("In how many parts?", ()),
    "instalment_call": ("An instalment is overdue — call the customer", ("reached", "no_answer")),
    "payment_date": ("Expected payment date?", ()),
    "confirm_cancel": ("Cancel the order?", ("yes", "no")),
    "callback_time": ("When to call back?", ()),
    "email_bounced": ("Email bounced — check the address?", ("fixed", "skip")),
}
# The kinds answered with a whole number (`{"answer": "number", "number": n}`), between the
# bounds the task carries; a discount also takes its validity (`valid_days` or `at`).
NUMBER_TASKS = frozenset({"discount", "instalments"})
# The renewal workflow's call before a subscription period ends (workflows/renewal.py).
RENEWAL_CALL = ("Offer to renew the subscription", ("renewing", "declined", "no_answer"))
# The check-in a while after a purchase (workflows/checkin.py).
CHECKIN = (
    "How do they like the course? Offer the next one",
    ("happy", "offer_accepted", "not_interested", "no_answer"),
)
# The one question for the shared pool: whoever answers it yes is assigned the order.
POOL_KIND = "take_order"
# Every kind a task can have: the order chase's questions, the dial child's calls, the
# renewal call and the check-in.
TASK_KINDS = frozenset({*ORDER_TASKS, "call", "renewal_call", "checkin"})
# Kinds that carry a call script (templates/call_scripts/<language>/<script>.txt).
CALL_SCRIPTS = {
    "call": "default",
    "instalment_call": "instalment_call",
    "renewal_call": "renewal",
    "checkin": "checkin",
}


@dataclass
class TaskAnswer:
    """A manager's answer, checked by the API, then signalled to the waiting workflow."""

    task_id: int
    answer: str  # one of the task's options, "at" for a date-time, "number" for a number
    manager_id: str
    at: datetime | None = None
    number: int | None = None  # the number of a number question
    valid_days: int | None = None  # a discount valid this many days (else until `at`)


@dataclass
class Reassignment:
    """The order moved to another manager (None: the shared pool), told to its running chase."""

    manager_id: str | None
    by: str  # who moved it, for the workflow's log: "backend" or "manager:<id>"
