"""Bodies of the import and enrolment routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.schemas.common import Id
from api.schemas.orders import OrderIn

MAX_IMPORT = 1_000


class ImportedOrderIn(OrderIn):
    """An order the shop had before chaser; paid and cancelled ones too, so reports are whole."""

    status: Literal["new", "paid", "cancelled"] = "new"


class ImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    orders: list[ImportedOrderIn] = Field(min_length=1, max_length=MAX_IMPORT)

    @model_validator(mode="after")
    def _unique_ids(self) -> ImportIn:
        seen: set[str] = set()
        for order in self.orders:
            if order.id in seen:
                raise ValueError(f"order {order.id!r} appears twice")
            seen.add(order.id)
        return self


class ImportOut(BaseModel):
    imported: int
    already_known: list[str]  # ids chaser had already: left as they are


class EnrollIn(BaseModel):
    """Which known orders to enrol; no filter enrols every unpaid order without a chase."""

    model_config = ConfigDict(extra="forbid")

    product_id: Id | None = None
    created_before: AwareDatetime | None = None
    status: (
        Literal[
            "new", "in_progress", "not_confirmed", "pending", "payment_pending", "partially_paid"
        ]
        | None
    ) = None


class EnrollmentOut(BaseModel):
    """An enrolment job's progress: found by the filter, started, skipped and why."""

    id: str
    state: str  # running / done
    product_id: str | None
    created_before: datetime | None
    status: str | None
    found: int
    started: int
    skipped: dict[str, int]  # already_chased / closed
    processed: int
    created_at: datetime
    finished_at: datetime | None
