"""Bodies of the report routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class Outcomes(BaseModel):
    """How chases ended: positive (paid), neutral (duplicate), negative (cancelled, expired,
    no phone, declined); `open` orders have not ended yet."""

    orders: int
    open: int
    positive: int
    neutral: int
    negative: int
    # paid / (paid + lost): duplicates are not real orders and open ones are undecided.
    conversion: float | None
    negative_reasons: dict[str, int]
    # Why orders were left out of conversion: a duplicate, or created by mistake.
    neutral_reasons: dict[str, int]


class ProductOutcomes(Outcomes):
    product_id: str
    product_name: str


class OutcomesReport(BaseModel):
    products: list[ProductOutcomes]
    total: Outcomes


class OpenTasks(BaseModel):
    """Open tasks of one kind waiting on one manager (or on the pool when assignee_id is None)."""

    assignee_id: str | None
    kind: str
    open: int
    oldest_created_at: datetime
