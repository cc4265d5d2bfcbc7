"""Pausing an order's chase and resuming it early (README "Calendar").

Like backend events (api.services.order_events), a change is stored first, under the order's
lock, then signalled; until the chase has heard it the row's `signalled_at` is empty and
api.redelivery sends it again. Each change carries its row id, and the chase applies only a
change newer than the last it applied, so a late redelivery never undoes a later change.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TypeGuard

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.deps import Caller
from api.errors import Conflict, Forbidden, Invalid, NotFound, order_closed
from api.schemas.orders import PauseIn, PauseOut
from api.temporal import signal_workflow
from db.history import record_on
from db.locks import Missing, lock_row
from db.models import Order, OrderPause
from domain import CLOSED_STATUSES, order_workflow_id
from workflows.messages import ChasePause, ChaseResume
from workflows.order_chase import OrderChase

logger = logging.getLogger(__name__)

# The longest pause: a customer's holiday or a business trip, not a way to park an order.
MAX_PAUSE = timedelta(days=90)


async def pause_order(
    session: AsyncSession,
    temporal: Client,
    *,
    order_id: str,
    body: PauseIn,
    caller: Caller,
    now: datetime,
) -> Order:
    """Pause the chase until `body.until`; a paused chase's pause is moved (the same pause
    again changes nothing)."""
    order, actor = await _open_order(session, order_id, caller)
    if body.until <= now:
        raise Invalid(f"until {body.until.isoformat()} is not in the future")
    if body.until > now + MAX_PAUSE:
        raise Invalid(f"until {body.until.isoformat()} is more than {MAX_PAUSE.days} days ahead")
    latest = await _latest(session, order_id)
    if _in_force(latest, now) and (latest.until, latest.reason) == (body.until, body.reason):
        await _owed(session, temporal, latest, now)  # the same pause again
        return order
    change = OrderPause(
        order_id=order_id, until=body.until, reason=body.reason, actor=actor, at=now
    )
    await _store(session, change, kind="paused", until=body.until.isoformat(), reason=body.reason)
    await deliver(session, temporal, change, now)
    return order


async def resume_order(
    session: AsyncSession, temporal: Client, *, order_id: str, caller: Caller, now: datetime
) -> Order:
    """End the pause now; a chase that is not paused is left as it is."""
    order, actor = await _open_order(session, order_id, caller)
    latest = await _latest(session, order_id)
    if not _in_force(latest, now):
        await _owed(session, temporal, latest, now)  # not paused, or resumed already
        return order
    change = OrderPause(order_id=order_id, until=None, reason=None, actor=actor, at=now)
    await _store(session, change, kind="resumed")
    await deliver(session, temporal, change, now)
    return order


async def current_pause(session: AsyncSession, order_id: str, now: datetime) -> PauseOut | None:
    """The pause in force: the latest change, if it is a pause that has not run out."""
    latest = await _latest(session, order_id)
    if not _in_force(latest, now):
        return None
    assert latest is not None and latest.until is not None
    return PauseOut(until=latest.until, reason=latest.reason, by=latest.actor, since=latest.at)


async def _latest(session: AsyncSession, order_id: str) -> OrderPause | None:
    return await session.scalar(
        select(OrderPause).where(OrderPause.order_id == order_id).order_by(OrderPause.id.desc())
    )


def _in_force(change: OrderPause | None, now: datetime) -> TypeGuard[OrderPause]:
    return change is not None and change.until is not None and change.until > now


async def _owed(
    session: AsyncSession, temporal: Client, latest: OrderPause | None, now: datetime
) -> None:
    """A request that changes nothing: the lock goes (nothing else was written); the latest
    change, if it is still owed to the chase (its request met Temporal down), goes now."""
    await session.commit()
    if latest is not None and latest.signalled_at is None:
        await deliver(session, temporal, latest, now)


async def deliver(
    session: AsyncSession, temporal: Client, change: OrderPause, now: datetime
) -> None:
    """Tell the chase of a stored change, then mark it heard. Raises Unavailable (503) when
    Temporal does not answer: the change stays owed and is sent again."""
    chase = order_workflow_id(change.order_id)
    if change.until is None:
        heard = await signal_workflow(
            temporal, chase, OrderChase.resume_chase, ChaseResume(change.id)
        )
    else:
        pause = ChasePause(change.id, change.until.isoformat(), change.reason or "")
        heard = await signal_workflow(temporal, chase, OrderChase.pause_chase, pause)
    if not heard:
        # The chase ended after the change was accepted: there is nothing left to pause.
        logger.warning(
            "pause change %s: the chase of order %s had ended", change.id, change.order_id
        )
    await session.execute(
        update(OrderPause).where(OrderPause.id == change.id).values(signalled_at=now)
    )
    await session.commit()


async def _open_order(session: AsyncSession, order_id: str, caller: Caller) -> tuple[Order, str]:
    """The order, locked, if this caller may pause it and its chase runs; and who they are."""
    try:
        order = await lock_row(session, Order, order_id)
    except Missing as error:
        raise NotFound("order", order_id) from error
    actor = "backend"
    if caller.manager is not None:
        if order.assignee_id != caller.manager.id:
            raise Forbidden(f"order {order_id!r} is not assigned to {caller.manager.id!r}")
        actor = f"manager:{caller.manager.id}"
    if order.status in CLOSED_STATUSES:
        raise order_closed(order_id, order.status)
    if not order.chase_started:
        raise Conflict(f"the chase of order {order_id!r} has not started yet")
    return order, actor


async def _store(session: AsyncSession, change: OrderPause, kind: str, **detail: str) -> None:
    """The change and its timeline line (and webhook event), in one transaction."""
    session.add(change)
    await session.flush()  # its id orders it for the chase
    record_on(session, change, at=change.at, actor=change.actor, kind=kind, **detail)
    await session.commit()
