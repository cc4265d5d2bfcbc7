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
    answer_type: Literal["choice", "datetime"]  # one of options, or the `at` field
    assignee_id: str | None
    status: TaskStatus
    close_reason: str | None
    created_at: datetime
    answered_at: datetime | None
    answer: str | None
    answer_at: datetime | None
    note: str | None
    answered_by: str | None


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str = Field(min_length=1, max_length=32)
    # ISO 8601; without an offset it is read in DEFAULT_TIMEZONE.
    at: datetime | None = None
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
