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


class RenewalOutcomes(BaseModel):
    """How subscription periods ended: renewed (positive), lapsed or cancelled (negative)."""

    periods: int
    renewed: int
    lapsed: int
    cancelled: int
    # renewed / periods: the renewal conversion.
    conversion: float | None
    # The renewal calls' answers: renewing / declined / no_answer.
    call_answers: dict[str, int]


class ProductRenewals(RenewalOutcomes):
    product_id: str
    product_name: str


class RenewalsReport(BaseModel):
    products: list[ProductRenewals]
    total: RenewalOutcomes


class CheckinOutcomes(BaseModel):
    """Check-ins after purchase: `open` ones await the manager, the rest counted by answer
    (happy / offer_accepted / not_interested / no_answer)."""

    checkins: int
    open: int
    answers: dict[str, int]
    # offer_accepted / the customers reached (every answer but no_answer).
    offer_conversion: float | None


class ProductCheckins(CheckinOutcomes):
    product_id: str
    product_name: str


class CheckinsReport(BaseModel):
    products: list[ProductCheckins]
    total: CheckinOutcomes


class OutcomesReport(BaseModel):
    products: list[ProductOutcomes]
    total: Outcomes
    renewals: RenewalsReport | None = None
    checkins: CheckinsReport | None = None


class OpenTasks(BaseModel):
    """Open tasks of one kind waiting on one manager (or on the pool when assignee_id is None)."""

    assignee_id: str | None
    kind: str
    open: int
    oldest_created_at: datetime
