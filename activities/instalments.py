"""Instalment plans (seed 003: "special payment terms"): the order's amount in parts with due
dates. Payments are not tied to parts: the order's paid_amount (partial payments add to it)
covers the parts in order, and the order is paid when it reaches the amount, as ever."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.orders import load_order
from db.history import already_done, record_step
from db.models import Instalment, Order
from db.session import Sessions
from domain import InstalmentStatus, OrderStatus

CENT = Decimal("0.01")


@dataclass
class PlanRequest:
    key: str
    order_id: str
    parts: int
    first_due: datetime
    interval: float  # seconds between due dates (already scaled)
    at: datetime


@dataclass
class Part:
    number: int
    amount: str  # Decimal as text: payloads are JSON
    due_at: datetime


@dataclass
class PartCheck:
    key: str
    order_id: str
    number: int
    at: datetime
    final: bool  # at the due date: a part still short is missed


@dataclass
class PartState:
    covered: bool  # the payments so far cover this part and every one before it
    paid_amount: str


def split(amount: Decimal, parts: int) -> list[Decimal]:
    """Equal parts to the cent; the last one takes what rounding left over."""
    part = (amount / parts).quantize(CENT, rounding=ROUND_DOWN)
    return [part] * (parts - 1) + [amount - part * (parts - 1)]


class InstalmentActivities:
    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    @activity.defn
    async def record_plan(self, request: PlanRequest) -> list[Part]:
        """Write the plan once per order (a retry, or a second plan, returns the first)."""
        async with self.sessions() as session, session.begin():
            order = await load_order(session, request.order_id)
            rows = await plan_of(session, order.id)
            if not rows:
                amounts = split(order.amount, request.parts)
                for number, amount in enumerate(amounts, start=1):
                    due = request.first_due + timedelta(seconds=request.interval * (number - 1))
                    session.add(
                        Instalment(
                            order_id=order.id,
                            number=number,
                            parts=request.parts,
                            amount=amount,
                            due_at=due,
                            status=InstalmentStatus.DUE,
                            created_at=request.at,
                        )
                    )
                await session.flush()
                rows = await plan_of(session, order.id)
                record_step(
                    session,
                    request,
                    "instalment_plan",
                    parts=[
                        {
                            "number": r.number,
                            "amount": str(r.amount),
                            "due_at": r.due_at.isoformat(),
                        }
                        for r in rows
                    ],
                )
            return [Part(r.number, str(r.amount), r.due_at) for r in rows]

    @activity.defn
    async def check_part(self, check: PartCheck) -> PartState:
        """Whether the payments so far cover part `number` (and so every part before it);
        at its due date a part still short is marked missed, once per key."""
        async with self.sessions() as session, session.begin():
            order = await load_order(session, check.order_id)
            rows = await plan_of(session, order.id)
            covered = covered_parts(order, rows)
            for row in rows:
                if row.number in covered:
                    row.status = InstalmentStatus.PAID
            part = next(r for r in rows if r.number == check.number)
            paid = part.number in covered
            if check.final and not paid and not await already_done(session, check.key):
                part.status = InstalmentStatus.MISSED
                record_step(
                    session,
                    check,
                    "instalment_missed",
                    number=part.number,
                    amount=str(part.amount),
                    paid_amount=str(order.paid_amount),
                )
            return PartState(paid, str(order.paid_amount))


def covered_parts(order: Order, plan: list[Instalment]) -> set[int]:
    """The parts the order's payments cover, in order; every part of a paid order."""
    if order.status == OrderStatus.PAID:
        return {part.number for part in plan}
    covered, due = set(), Decimal(0)
    for part in plan:
        due += part.amount
        if order.paid_amount >= due:
            covered.add(part.number)
    return covered


async def plan_of(session: AsyncSession, order_id: str) -> list[Instalment]:
    """The order's plan, part by part (empty without one)."""
    rows = await session.scalars(
        select(Instalment).where(Instalment.order_id == order_id).order_by(Instalment.number)
    )
    return list(rows)
