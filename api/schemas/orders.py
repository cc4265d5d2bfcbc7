"""Bodies of the order routes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, model_validator

from api.schemas.common import EventIn, Id, Money, OneLine, Phone
from api.schemas.purchases import Customer, CustomerOut, Product, ProductOut
from domain import (
    DialOutcome,
    EndReason,
    InstalmentStatus,
    OfferStatus,
    OrderEventType,
    OrderStatus,
    Outcome,
)


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id
    product: Product
    amount: Money
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    customer: Customer
    created_at: AwareDatetime | None = None
    language: Literal["en", "ru"] | None = None


class OrderEventIn(EventIn):
    type: OrderEventType
    amount: Money | None = None
    phone: Phone | None = None
    email: EmailStr | None = None  # an email_changed event's new address
    occurred_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _fields_for_type(self) -> OrderEventIn:
        if self.type == "partially_paid" and self.amount is None:
            raise ValueError("a partially_paid event needs an amount")
        if self.type == "phone_changed" and self.phone is None:
            raise ValueError("a phone_changed event needs a phone")
        if self.type == "email_changed" and self.email is None:
            raise ValueError("an email_changed event needs an email")
        return self


class DialOut(BaseModel):
    """The dial child's counters: the day in use, unanswered calls that day, all attempts."""

    workflow_id: str
    day: int
    call: int
    attempts: int
    outcome: DialOutcome | None = None  # set once the dial has ended
    # While the dial waits for the assignee's working hours: when the next call task opens.
    next_call_at: datetime | None = None


class ZonedMoment(BaseModel):
    timezone: str
    local: datetime  # the moment with that zone's offset


DueStep = Literal["call", "wait", "email"]  # the dial's next call, a wait's end, an email


class NextDue(BaseModel):
    """When the current step next acts on its own, on the manager's and the customer's
    clocks: the manager process's step, else the next marketing email."""

    step: DueStep
    at: datetime
    manager: ZonedMoment  # the assignee's zone (the pool's: DEFAULT_TIMEZONE)
    customer: ZonedMoment


class ProcessOut(BaseModel):
    """The running workflow's view, from its query; absent once the chase has ended."""

    stage: str
    partially_paid: bool
    ends_at: datetime
    assignee_id: str | None = None
    open_task_id: int | None = None
    dials: int = 0
    dial: DialOut | None = None
    next_due: NextDue | None = None  # None while the chase waits only for people
    paused_until: datetime | None = None  # the chase's own view of a pause in force


class OfferOut(BaseModel):
    """The personal offer (SPEC §1 D): a discount granted on the order."""

    percent: int
    valid_until: datetime
    status: OfferStatus
    granted_at: datetime


class InstalmentOut(BaseModel):
    """One part of the instalment plan agreed on a call; `paid` once the payments so far
    cover it and the parts before it, `missed` when its due date passed short."""

    number: int
    amount: Decimal
    due_at: datetime
    status: InstalmentStatus


class OrderOut(BaseModel):
    id: str
    product: ProductOut
    amount: Decimal
    paid_amount: Decimal
    currency: str
    customer: CustomerOut
    language: str
    status: OrderStatus
    assignee_id: str | None
    outcome: Outcome | None
    end_reason: EndReason | None
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    process: ProcessOut | None = None
    offer: OfferOut | None = None
    instalments: list[InstalmentOut] = []
    pause: PauseOut | None = None  # None: not paused
    # False when the running chase did not answer in time (no worker): `process` is then
    # absent and the rest is the stored state. True otherwise, ended chases included.
    live: bool = True


class PauseIn(BaseModel):
    """Pause the chase until a moment (README "Calendar"): at most MAX_PAUSE ahead."""

    model_config = ConfigDict(extra="forbid")

    until: AwareDatetime
    reason: OneLine


class PauseOut(BaseModel):
    """A pause in force: the chase sends nothing and opens no task until `until`."""

    until: datetime
    reason: str | None
    by: str  # "backend" or "manager:<id>"
    since: datetime


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    manager_id: Id | None  # None: back to the shared pool
