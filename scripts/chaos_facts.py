"""What a `make chaos` run saw, as plain data: the harness's calls and their answers, and what
it read afterwards from the database, the mailbox and Temporal (judged by chaos_checks.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class Call:
    """One request of the harness, retried after 5xx answers and lost connections until it
    got a final answer (status 0: none came)."""

    what: str  # create / paid / partially_paid / cancelled / phone_changed / answer
    order_id: str
    started: float  # time.time() of the first attempt
    finished: float
    status: int
    event_id: str | None = None
    amount: Decimal | None = None
    duplicate: bool | None = None
    task_id: int | None = None
    task_kind: str | None = None
    manager_id: str | None = None
    answer: str | None = None

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class OrderRow:
    id: str
    status: str
    amount: Decimal
    paid_amount: Decimal
    assignee_id: str | None
    ended_at: float | None  # epoch seconds


@dataclass(frozen=True)
class TaskRow:
    id: int
    order_id: str
    kind: str
    status: str
    answered_by: str | None


@dataclass(frozen=True)
class EmailRow:
    message_id: str
    key: str
    order_id: str
    kind: str
    status: str


@dataclass(frozen=True)
class Delivery:
    """One message the SMTP server received."""

    message_id: str
    received_at: float


@dataclass(frozen=True)
class Execution:
    workflow_id: str
    workflow_type: str
    status: str  # RUNNING, COMPLETED, CONTINUED_AS_NEW, FAILED, ...


@dataclass
class Facts:
    orders: dict[str, OrderRow]
    tasks: dict[int, TaskRow]
    answer_lines: dict[int, list[str]]  # task id -> actor of each answer line in the history
    emails: dict[str, EmailRow]  # by message id
    deliveries: list[Delivery]
    executions: list[Execution]
    server_errors: list[str] = field(default_factory=list)  # each 5xx answer but a 503
    responses: int = 0  # every HTTP answer the harness got
