"""The reports' queries, read by the API's report routes and the web app's shop view."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas.reports import OpenTasks, Outcomes, OutcomesReport, ProductOutcomes
from db.models import Order, Task
from domain import CLOSED_STATUSES


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
    )


def _count(ends: Counter[tuple[str | None, str | None]]) -> Outcomes:
    """Outcome counts from (outcome, end reason) → orders; outcome None is a chase still open."""
    by_outcome: Counter[str | None] = Counter()
    lost: Counter[str] = Counter()
    left_out: Counter[str] = Counter()
    for (outcome, reason), count in ends.items():
        by_outcome[outcome] += count
        if outcome == "negative":
            lost[reason or "unknown"] += count
        elif outcome == "neutral":
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
        .where(Task.status == "open")
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
