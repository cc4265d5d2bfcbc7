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
}
# Every kind a task can have: the order chase's questions and the dial child's calls.
TASK_KINDS = frozenset({*ORDER_TASKS, "call"})


@dataclass
class TaskAnswer:
    """A manager's answer, checked by the API, then signalled to the waiting workflow."""

    task_id: int
    answer: str  # one of the task's options, or "at" for a date-time question
    manager_id: str
    at: datetime | None = None
