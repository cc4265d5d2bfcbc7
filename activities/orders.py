"""Order status changes and process ends, written to the order row and its timeline."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Protocol, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities import metrics
from activities.rows import load, missing
from db.history import Step, already_done, record_step
from db.locks import Missing, lock_row
from db.models import Discount, Order, Task
from db.session import Sessions
from db.tasks import close_open_tasks
from domain import CLOSED_STATUSES, OfferStatus, OrderStatus


@dataclass
class StatusChange:
    key: str
    order_id: str
    status: str
    at: datetime
    reason: str | None = None


@dataclass
class OrderEnd:
    key: str
    order_id: str
    status: str  # paid / cancelled / false
    outcome: str  # positive / neutral / negative
    reason: str
    at: datetime


@dataclass
class Assignment:
    key: str
    order_id: str
    manager_id: str
    at: datetime


# Starts a paid order's check-in: (order id, product id); activities.checkins.CheckinStarter.
StartCheckin = Callable[[str, str], Awaitable[None]]
T = TypeVar("T")


class OrderActivities:
    def __init__(self, sessions: Sessions, start_checkin: StartCheckin | None = None) -> None:
        self.sessions = sessions
        self.start_checkin = start_checkin  # None: no check-ins

    @activity.defn
    async def set_status(self, change: StatusChange) -> None:
        """Move an open order to a new status; a closed order keeps its final one."""
        await self._write_once(change, partial(_set_status, change))

    @activity.defn
    async def assign(self, assignment: Assignment) -> None:
        """The manager who took the order gets it, and every later task of it."""
        await self._write_once(assignment, partial(_assign, assignment))

    @activity.defn
    async def finish_order(self, end: OrderEnd) -> None:
        """End the chase: final status and outcome, and every open task closed automatically;
        a paid order's check-in is started (activities.checkins)."""
        product_id = await self._write_once(end, partial(_end, end))
        if product_id is not None:
            metrics.chase_ended(product_id, end.status, end.outcome, end.reason)
            activity.logger.info("order %s ended %s (%s)", end.order_id, end.status, end.reason)
        if end.status != OrderStatus.PAID or self.start_checkin is None:
            return
        if product_id is None:
            # Written by an attempt that may have failed to start the check-in: start it now.
            async with self.sessions() as session:
                product_id = (await load_order(session, end.order_id)).product_id
        await self.start_checkin(end.order_id, product_id)

    async def _write_once(
        self, step: OrderStep, write: Callable[[AsyncSession, Order], Awaitable[T]]
    ) -> T | None:
        """`write` the step's rows in one transaction with its order locked, once per key:
        None when an earlier attempt wrote them."""
        async with self.sessions() as session, session.begin():
            order = await lock_order_row(session, step.order_id)
            if await already_done(session, step.key):
                return None
            return await write(session, order)


class OrderStep(Step, Protocol):
    """A workflow's step on an order."""

    @property
    def order_id(self) -> str: ...


async def _set_status(change: StatusChange, session: AsyncSession, order: Order) -> None:
    if order.status in CLOSED_STATUSES or order.status == change.status:
        return
    _move(session, change, order, change.status, change.reason)


async def _assign(assignment: Assignment, session: AsyncSession, order: Order) -> None:
    manager_id = assignment.manager_id
    record_step(
        session, assignment, "assigned", actor=f"manager:{manager_id}", manager_id=manager_id
    )
    order.assignee_id, order.updated_at = manager_id, assignment.at


async def _end(end: OrderEnd, session: AsyncSession, order: Order) -> str:
    """The end's rows: the order's product."""
    await close_open_tasks(session, Task.order_id, order.id, f"order {end.status}", end.at)
    # A personal offer still running is used by the payment, or dies with the order.
    for offer in await session.scalars(_ACTIVE_OFFERS, {"order_id": order.id}):
        offer.status = OfferStatus.USED if end.status == OrderStatus.PAID else OfferStatus.EXPIRED
    # The line that ends the chase carries its outcome: order.chase_ended.
    _move(session, end, order, end.status, end.reason, outcome=end.outcome)
    order.outcome, order.end_reason, order.ended_at = end.outcome, end.reason, end.at
    return order.product_id


# Built once (db.history says why).
_ACTIVE_OFFERS = select(Discount).where(
    Discount.order_id == bindparam("order_id"), Discount.status == OfferStatus.ACTIVE
)


def _move(
    session: AsyncSession,
    step: OrderStep,
    order: Order,
    status: str,
    reason: str | None,
    **end: str,
) -> None:
    """The order to `status`, with its status_changed line."""
    record_step(session, step, "status_changed", old=order.status, new=status, reason=reason, **end)
    order.status, order.updated_at = status, step.at


async def lock_order_row(session: AsyncSession, order_id: str) -> Order:
    """The order an activity changes, locked first: a status read, then written, by two
    activities at once (a part payment's status and the end) would lose one of them."""
    try:
        return await lock_row(session, Order, order_id)
    except Missing:
        raise missing("order", order_id) from None


async def load_order(session: AsyncSession, order_id: str) -> Order:
    """The order an activity works on; a missing one is a permanent failure, not a retry."""
    return await load(session, Order, "order", order_id)
