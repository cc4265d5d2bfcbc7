"""Reports for the backend (SPEC §3 lists): how chases ended per product, and the open tasks
by manager and kind."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from sqlalchemy import func, select

from api.deps import BackendDep, SessionDep
from api.errors import Invalid
from api.schemas.common import Id
from api.schemas.reports import OpenTasks, Outcomes, OutcomesReport, ProductOutcomes
from db.models import Order, Task

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get("/outcomes")
async def outcomes(
    session: SessionDep,
    _: BackendDep,
    product_id: Annotated[Id | None, Query()] = None,
    created_from: Annotated[AwareDatetime | None, Query()] = None,
    created_before: Annotated[AwareDatetime | None, Query()] = None,
) -> OutcomesReport:
    """Orders created in [created_from, created_before), counted by how their chase ended."""
    if created_from and created_before and created_from >= created_before:
        raise Invalid("created_from must be before created_before")
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
    for (outcome, reason), count in ends.items():
        by_outcome[outcome] += count
        if outcome == "negative":
            lost[reason or "unknown"] += count
    decided = by_outcome["positive"] + by_outcome["negative"]
    return Outcomes(
        orders=sum(ends.values()),
        open=by_outcome[None],
        positive=by_outcome["positive"],
        neutral=by_outcome["neutral"],
        negative=by_outcome["negative"],
        conversion=round(by_outcome["positive"] / decided, 4) if decided else None,
        negative_reasons=dict(sorted(lost.items())),
    )


@router.get("/open-tasks")
async def open_tasks(session: SessionDep, _: BackendDep) -> list[OpenTasks]:
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
