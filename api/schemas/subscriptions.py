"""Bodies of the subscription routes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.schemas.common import EventIn, Id, Money
from api.schemas.purchases import Customer, CustomerOut, Product, ProductOut
from domain import RenewalOutcome, SubscriptionEventType, SubscriptionStatus


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id
    product: Product
    price: Money  # of the next period: what the renewal link asks
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    customer: Customer
    period_ends_at: AwareDatetime  # the current period's end
    # Who calls the customer about the renewal; absent: the manager who sold the customer's
    # last paid order, else the shared pool.
    assignee_id: Id | None = None
    language: Literal["en", "ru"] | None = None


class SubscriptionEventIn(EventIn):
    type: SubscriptionEventType
    # renewed: the next period's end; period_changed: the current period's new end.
    period_ends_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _fields_for_type(self) -> SubscriptionEventIn:
        if self.type != SubscriptionEventType.CANCELLED and self.period_ends_at is None:
            raise ValueError(f"a {self.type} event needs period_ends_at")
        return self


class PeriodOut(BaseModel):
    """How one finished period ended."""

    period: int
    period_ends_at: datetime
    outcome: RenewalOutcome
    call_answer: str | None
    ended_at: datetime


class RenewalProcessOut(BaseModel):
    """The running renewal's view, from its query; absent once the subscription has ended."""

    next_step: str | None  # notice:<days> or call
    next_step_at: datetime | None
    call_task_id: int | None
    call_answer: str | None


class SubscriptionOut(BaseModel):
    id: str
    product: ProductOut
    price: Decimal
    currency: str
    customer: CustomerOut
    language: str
    assignee_id: str | None
    status: SubscriptionStatus
    period: int
    period_ends_at: datetime
    created_at: datetime
    updated_at: datetime
    periods: list[PeriodOut] = []
    process: RenewalProcessOut | None = None
