"""Bodies of the task routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Text
from domain import OrderStatus, TaskKind, TaskStatus


class TaskOut(BaseModel):
    id: int
    order_id: str | None
    lead_id: str | None
    subscription_id: str | None = None
    kind: TaskKind
    title: str
    call_script: str | None
    options: list[str]
    # one of options, the `at` field, or the `number` field (between number_min and number_max)
    answer_type: Literal["choice", "datetime", "number"]
    number_min: int | None
    number_max: int | None
    assignee_id: str | None
    status: TaskStatus
    close_reason: str | None
    created_at: datetime
    answered_at: datetime | None
    answer: str | None
    answer_at: datetime | None
    answer_number: int | None
    answer_valid_days: int | None
    note: str | None
    answered_by: str | None


# A manager's discount is valid at most this long.
MAX_VALID_DAYS = 90


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str = Field(min_length=1, max_length=32)
    # ISO 8601; without an offset it is read in DEFAULT_TIMEZONE.
    at: datetime | None = None
    # A number question's answer (with `"answer": "number"`): a discount's percent, a count
    # of instalments; a discount also takes its validity, `valid_days` or `at`.
    number: int | None = Field(default=None, ge=0, le=1000)
    valid_days: int | None = Field(default=None, ge=1, le=MAX_VALID_DAYS)
    note: Text | None = None


class CallListEntry(BaseModel):
    order_id: str
    status: OrderStatus
    customer_name: str
    phone: str
    product_name: str
    amount: str
    currency: str
    assignee_id: str | None
    created_at: datetime
