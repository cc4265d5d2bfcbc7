"""The reports' queries, read by the API's report routes and the web app's shop view."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas.reports import (
    CheckinOutcomes,
    CheckinsReport,
    OpenTasks,
    Outcomes,
    OutcomesReport,
    ProductCheckins,
    ProductOutcomes,
    ProductRenewals,
    RenewalOutcomes,
    RenewalsReport,
)
from db.models import Order, Renewal, Subscription, Task
from domain import CLOSED_STATUSES, Outcome, RenewalOutcome, TaskKind, TaskStatus

LineT = TypeVar("LineT", bound=BaseModel)


@dataclass(frozen=True)
class ReportFilter:
    """What a report counts: one product or all, and rows whose time is in [start, end)."""

    product_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None


async def outcomes_report(session: AsyncSession, only: ReportFilter) -> OutcomesReport:
    """Orders created in the filter's span, counted by how their chase ended."""
    query = _counted_by_product(Order, Order.outcome, Order.end_reason)
    ends = await _tally(session, query, Order, Order.created_at, only)
    return OutcomesReport(
        products=ends.per_product(ProductOutcomes, _count),
        total=_count(ends.total()),
        renewals=await renewals_report(session, only),
        checkins=await checkins_report(session, only),
    )


async def renewals_report(session: AsyncSession, only: ReportFilter) -> RenewalsReport:
    """Subscription periods that ended in the filter's span, by how they ended."""
    query = _counted_by_product(Subscription, Renewal.outcome, Renewal.call_answer).join(
        Subscription, Renewal.subscription_id == Subscription.id
    )
    ends = await _tally(session, query, Subscription, Renewal.period_ends_at, only)
    return RenewalsReport(
        products=ends.per_product(ProductRenewals, _renewals), total=_renewals(ends.total())
    )


def _renewals(ends: Counter[tuple[str, str | None]]) -> RenewalOutcomes:
    outcomes: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    for (outcome, answer), count in ends.items():
        outcomes[outcome] += count
        if answer is not None:
            answers[answer] += count
    periods = sum(outcomes.values())
    renewed = outcomes[RenewalOutcome.RENEWED]
    return RenewalOutcomes(
        periods=periods,
        renewed=renewed,
        lapsed=outcomes[RenewalOutcome.LAPSED],
        cancelled=outcomes[RenewalOutcome.CANCELLED],
        conversion=round(renewed / periods, 4) if periods else None,
        call_answers=dict(sorted(answers.items())),
    )


async def checkins_report(session: AsyncSession, only: ReportFilter) -> CheckinsReport:
    """Check-in tasks opened in the filter's span, by their answer."""
    query = (
        _counted_by_product(Order, Task.status, Task.answer)
        .join(Order, Task.order_id == Order.id)
        .where(Task.kind == TaskKind.CHECKIN)
    )
    found = await _tally(session, query, Order, Task.created_at, only)
    return CheckinsReport(
        products=found.per_product(ProductCheckins, _checkins), total=_checkins(found.total())
    )


def _checkins(found: Counter[tuple[str, str | None]]) -> CheckinOutcomes:
    answers: Counter[str] = Counter()
    for (status, answer), count in found.items():
        if status == TaskStatus.ANSWERED and answer is not None:
            answers[answer] += count
    reached = sum(answers.values()) - answers["no_answer"]
    return CheckinOutcomes(
        checkins=sum(found.values()),
        open=sum(n for (status, _), n in found.items() if status == TaskStatus.OPEN),
        answers=dict(sorted(answers.items())),
        offer_conversion=round(answers["offer_accepted"] / reached, 4) if reached else None,
    )


def _counted_by_product(
    product: type[Order] | type[Subscription], first: Any, second: Any
) -> Select[Any]:
    """Rows counted by product and two columns, each product with its name."""
    return select(
        product.product_id, func.max(product.product_name), first, second, func.count()
    ).group_by(product.product_id, first, second)


@dataclass
class _Tally:
    """A report's counts of (first, second) pairs per product, and the products' names."""

    names: dict[str, str]
    counts: dict[str, Counter[tuple[Any, Any]]]

    def total(self) -> Counter[tuple[Any, Any]]:
        return sum(self.counts.values(), Counter())

    def per_product(
        self, line: Callable[..., LineT], count: Callable[[Counter[tuple[Any, Any]]], BaseModel]
    ) -> list[LineT]:
        """One report line per product, by product id: its id, its name and its counts."""
        return [
            line(
                product_id=product,
                product_name=self.names[product],
                **count(self.counts[product]).model_dump(),
            )
            for product in sorted(self.counts)
        ]


async def _tally(
    session: AsyncSession,
    query: Select[Any],
    product: type[Order] | type[Subscription],
    at: Any,
    only: ReportFilter,
) -> _Tally:
    """Run a _counted_by_product query on the rows `only` keeps, their time being `at`."""
    if only.product_id is not None:
        query = query.where(product.product_id == only.product_id)
    if only.start is not None:
        query = query.where(at >= only.start)
    if only.end is not None:
        query = query.where(at < only.end)
    tally = _Tally({}, {})
    for product_id, name, first, second, count in await session.execute(query):
        # A product renamed between rows keeps the greatest of its names, as max() does.
        tally.names[product_id] = max(name, tally.names.get(product_id, name))
        tally.counts.setdefault(product_id, Counter())[first, second] += count
    return tally


def _count(ends: Counter[tuple[str | None, str | None]]) -> Outcomes:
    """Outcome counts from (outcome, end reason) → orders; outcome None is a chase still open."""
    by_outcome: Counter[str | None] = Counter()
    lost: Counter[str] = Counter()
    left_out: Counter[str] = Counter()
    for (outcome, reason), count in ends.items():
        by_outcome[outcome] += count
        if outcome == Outcome.NEGATIVE:
            lost[reason or "unknown"] += count
        elif outcome == Outcome.NEUTRAL:
            left_out[reason or "unknown"] += count
    decided = by_outcome["positive"] + by_outcome["negative"]
    return Outcomes(
        orders=sum(ends.values()),
        open=by_outcome[None],
        positive=by_outcome["positive"],
        neutral=by_outcome["neutral"],
        negative=by_outcome["negative"],
        conversion=round(by_outcome["positive"] / decided, 4) if decided else None,
        negative_reasons=dict(sorted(lost.items())),
        neutral_reasons=dict(sorted(left_out.items())),
    )


async def open_task_lines(session: AsyncSession) -> list[OpenTasks]:
    """Open tasks counted by assignee and kind, the pool (no assignee) first, oldest wait shown."""
    rows = await session.execute(
        select(Task.assignee_id, Task.kind, func.count(), func.min(Task.created_at))
        .where(Task.status == TaskStatus.OPEN)
        .group_by(Task.assignee_id, Task.kind)
    )
    lines = [
        OpenTasks(assignee_id=assignee, kind=kind, open=count, oldest_created_at=oldest)
        for assignee, kind, count, oldest in rows
    ]
    return sorted(
        lines, key=lambda line: (line.assignee_id is not None, line.assignee_id or "", line.kind)
    )


async def callable_orders(session: AsyncSession, search: str | None = None) -> list[Order]:
    """Unpaid, open orders that have a phone, oldest first (seed 001, section 5); with a
    search, any order whose id, email or phone matches it."""
    query = select(Order).order_by(Order.created_at, Order.id)
    if search:
        digits = "".join(ch for ch in search if ch.isdigit())
        matches = [Order.id == search, func.lower(Order.customer_email).contains(search.lower())]
        if len(digits) >= 4:
            matches.append(
                func.replace(
                    func.replace(func.replace(Order.phone, " ", ""), "-", ""), "+", ""
                ).contains(digits)
            )
        return list(await session.scalars(query.where(or_(*matches)).limit(100)))
    query = query.where(Order.status.not_in(CLOSED_STATUSES), Order.phone.is_not(None))
    return list(await session.scalars(query))
