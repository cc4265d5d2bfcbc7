"""The reports' queries, read by the API's report routes and the web app's shop view."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import func, or_, select
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


async def outcomes_report(
    session: AsyncSession,
    product_id: str | None = None,
    created_from: datetime | None = None,
    created_before: datetime | None = None,
) -> OutcomesReport:
    """Orders created in [created_from, created_before), counted by how their chase ended."""
    query = select(
        Order.product_id,
        func.max(Order.product_name),
        Order.outcome,
        Order.end_reason,
        func.count(),
    ).group_by(Order.product_id, Order.outcome, Order.end_reason)
    if product_id is not None:
        query = query.where(Order.product_id == product_id)
    if created_from is not None:
        query = query.where(Order.created_at >= created_from)
    if created_before is not None:
        query = query.where(Order.created_at < created_before)

    names: dict[str, str] = {}
    ends: dict[str, Counter[tuple[str | None, str | None]]] = {}
    for product, name, outcome, reason, count in await session.execute(query):
        names[product] = max(name, names.get(product, name))
        ends.setdefault(product, Counter())[outcome, reason] += count
    total: Counter[tuple[str | None, str | None]] = sum(ends.values(), Counter())
    return OutcomesReport(
        products=[
            ProductOutcomes(
                product_id=product,
                product_name=names[product],
                **_count(ends[product]).model_dump(),
            )
            for product in sorted(ends)
        ],
        total=_count(total),
        renewals=await renewals_report(session, product_id, created_from, created_before),
        checkins=await checkins_report(session, product_id, created_from, created_before),
    )


async def renewals_report(
    session: AsyncSession,
    product_id: str | None = None,
    ends_from: datetime | None = None,
    ends_before: datetime | None = None,
) -> RenewalsReport:
    """Subscription periods that ended in [ends_from, ends_before), by how they ended."""
    query = (
        select(
            Subscription.product_id,
            func.max(Subscription.product_name),
            Renewal.outcome,
            Renewal.call_answer,
            func.count(),
        )
        .join(Subscription, Renewal.subscription_id == Subscription.id)
        .group_by(Subscription.product_id, Renewal.outcome, Renewal.call_answer)
    )
    if product_id is not None:
        query = query.where(Subscription.product_id == product_id)
    if ends_from is not None:
        query = query.where(Renewal.period_ends_at >= ends_from)
    if ends_before is not None:
        query = query.where(Renewal.period_ends_at < ends_before)
    names: dict[str, str] = {}
    ends: dict[str, Counter[tuple[str, str | None]]] = {}
    for product, name, outcome, answer, count in await session.execute(query):
        names[product] = name
        ends.setdefault(product, Counter())[outcome, answer] += count
    total: Counter[tuple[str, str | None]] = sum(ends.values(), Counter())
    return RenewalsReport(
        products=[
            ProductRenewals(
                product_id=product,
                product_name=names[product],
                **_renewals(ends[product]).model_dump(),
            )
            for product in sorted(ends)
        ],
        total=_renewals(total),
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


async def checkins_report(
    session: AsyncSession,
    product_id: str | None = None,
    created_from: datetime | None = None,
    created_before: datetime | None = None,
) -> CheckinsReport:
    """Check-in tasks opened in [created_from, created_before), by their answer."""
    query = (
        select(
            Order.product_id, func.max(Order.product_name), Task.status, Task.answer, func.count()
        )
        .join(Order, Task.order_id == Order.id)
        .where(Task.kind == TaskKind.CHECKIN)
        .group_by(Order.product_id, Task.status, Task.answer)
    )
    if product_id is not None:
        query = query.where(Order.product_id == product_id)
    if created_from is not None:
        query = query.where(Task.created_at >= created_from)
    if created_before is not None:
        query = query.where(Task.created_at < created_before)
    names: dict[str, str] = {}
    found: dict[str, Counter[tuple[str, str | None]]] = {}
    for product, name, status, answer, count in await session.execute(query):
        names[product] = name
        found.setdefault(product, Counter())[status, answer] += count
    total: Counter[tuple[str, str | None]] = sum(found.values(), Counter())
    return CheckinsReport(
        products=[
            ProductCheckins(
                product_id=product,
                product_name=names[product],
                **_checkins(found[product]).model_dump(),
            )
            for product in sorted(found)
        ],
        total=_checkins(total),
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
