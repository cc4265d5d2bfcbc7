"""Manager tasks as the workflows see them: kinds, their allowed answers, and the answer signal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

CALL_ANSWERS = ("reached", "no_answer", "wrong_number", "duplicate")

# kind -> (title, allowed answers); an empty list means the answer is a date-time (`at`).
ORDER_TASKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "take_order": ("Take the order?", ("yes", "duplicate")),
    "ask_phone": ("Ask the customer for a phone?", ("send", "skip")),
    "will_pay": ("Will the order be paid?", ("yes", "no")),
    "payment_date": ("Expected payment date?", ()),
    "confirm_cancel": ("Cancel the order?", ("yes", "no")),
    "callback_time": ("When to call back?", ()),
    "email_bounced": ("Email bounced — check the address?", ("fixed", "skip")),
}
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
CALL_SCRIPTS = {"call": "default", "renewal_call": "renewal", "checkin": "checkin"}


@dataclass
class TaskAnswer:
    """A manager's answer, checked by the API, then signalled to the waiting workflow."""

    task_id: int
    answer: str  # one of the task's options, or "at" for a date-time question
    manager_id: str
    at: datetime | None = None


@dataclass
class Reassignment:
    """The order moved to another manager (None: the shared pool), told to its running chase."""

    manager_id: str | None
    by: str  # who moved it, for the workflow's log: "backend" or "manager:<id>"
