"""Managers over time: a new token, re-assigning an order, deactivating with a successor.
The API routes and the web app's admin page call these, so both check and record the same."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.deps import hash_token
from api.errors import Conflict, NotFound, order_closed
from api.lookup import get_or_404
from api.temporal import signal_workflow
from db.history import record
from db.models import Lead, Manager, Order, Task
from domain import CLOSED_STATUSES, TaskStatus, order_workflow_id
from workflows.order_chase import OrderChase
from workflows.tasks import Reassignment


def new_token() -> str:
    return secrets.token_urlsafe(32)


async def issue_token(
    session: AsyncSession, *, manager_id: str, actor: str, now: datetime
) -> tuple[Manager, str]:
    """A new token for the manager; the old one, and every session signed in with it, stop
    working at once. Only the hash is kept: the token is returned this once."""
    manager = await get_manager(session, manager_id)
    token = new_token()
    manager.token_hash = hash_token(token)
    record(session, at=now, actor=actor, kind="token_issued", manager_id=manager.id)
    await session.commit()
    return manager, token


async def activate(session: AsyncSession, *, manager_id: str, actor: str, now: datetime) -> Manager:
    """A deactivated manager may sign in and answer again; nothing moves back to them."""
    manager = await get_manager(session, manager_id)
    if not manager.active:
        manager.active, manager.deactivated_at = True, None
        record(session, at=now, actor=actor, kind="manager_activated", manager_id=manager.id)
    await session.commit()
    return manager


async def get_manager(session: AsyncSession, manager_id: str) -> Manager:
    """The manager a path names; a key that could not be an id is simply not found."""
    return await get_or_404(session, Manager, "manager", manager_id)


async def active_manager(session: AsyncSession, manager_id: str, role: str) -> Manager:
    """A manager named in a request body (an assignee, a successor): unknown or inactive is
    a conflict with the current state, not a missing resource."""
    manager = await session.get(Manager, manager_id)
    if manager is None:
        raise Conflict(
            f"{role} {manager_id!r} is not a known manager", "refused_unknown", id=manager_id
        )
    if not manager.active:
        raise Conflict(f"{role} {manager_id!r} is deactivated", "refused_inactive", id=manager_id)
    return manager


async def assign_order(
    session: AsyncSession,
    temporal: Client,
    *,
    order_id: str,
    manager_id: str | None,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> Order:
    """Move an open order, and its open tasks, to a manager (None: the pool); the running
    chase hears it, so its later tasks and the dial's next calls follow."""
    order = await session.get(Order, order_id)
    if order is None:
        raise NotFound("order", order_id)
    if order.status in CLOSED_STATUSES:
        raise order_closed(order_id, order.status)
    if manager_id is not None:
        await active_manager(session, manager_id, "manager")
    await _move(session, order, manager_id, actor, now, reason)
    await session.flush()
    if order.chase_started:
        heard = await signal_workflow(
            temporal,
            order_workflow_id(order.id),
            OrderChase.reassign,
            Reassignment(manager_id, actor),
        )
        if not heard:
            raise Conflict(
                f"the chase of order {order_id!r} has already ended",
                "refused_chase_ended",
                id=order_id,
            )
    await session.commit()
    return order


async def deactivate(
    session: AsyncSession,
    temporal: Client,
    *,
    manager_id: str,
    successor_id: str | None,
    actor: str,
    now: datetime,
) -> tuple[Manager, list[str]]:
    """The manager can no longer sign in or answer; their open orders and tasks go to the
    successor, or back to the pool. Returns the manager and the ids of the orders moved."""
    manager = await get_manager(session, manager_id)
    if successor_id == manager_id:
        raise Conflict(
            f"manager {manager_id!r} cannot succeed themselves", "refused_self", id=manager_id
        )
    if successor_id is not None:
        await active_manager(session, successor_id, "successor")
    if not manager.active:
        raise Conflict(
            f"manager {manager_id!r} is already deactivated", "refused_deactivated", id=manager_id
        )
    # A lead's follow-ups go out in its responsible manager's name: they need a person.
    leads = list(
        await session.scalars(
            select(Lead).where(Lead.responsible_manager_id == manager_id).order_by(Lead.id)
        )
    )
    reason = f"{manager_id} deactivated"
    if leads:
        if successor_id is None:
            raise Conflict(
                f"manager {manager_id!r} is responsible for {len(leads)} leads: name a successor",
                "refused_leads",
                id=manager_id,
                count=len(leads),
            )
        for lead in leads:
            record(
                session,
                lead_id=lead.id,
                at=now,
                actor=actor,
                kind="reassigned",
                old=manager_id,
                new=successor_id,
                reason=reason,
            )
            lead.responsible_manager_id = successor_id
    manager.active, manager.deactivated_at = False, now
    record(
        session,
        at=now,
        actor=actor,
        kind="manager_deactivated",
        manager_id=manager_id,
        successor_id=successor_id,
    )
    orders = list(
        await session.scalars(
            select(Order)
            .where(Order.assignee_id == manager_id, Order.status.not_in(CLOSED_STATUSES))
            .order_by(Order.id)
        )
    )
    for order in orders:
        await _move(session, order, successor_id, actor, now, reason)
    # Tasks of orders that ended or were never theirs (a released-then-taken call, say).
    for task in await session.scalars(
        select(Task).where(Task.assignee_id == manager_id, Task.status == TaskStatus.OPEN)
    ):
        _move_task(session, task, successor_id, actor, now, reason)
    await session.flush()
    # Signalled before the commit: Temporal out of reach is a 503 and nothing moves. A
    # chase that ended meanwhile has nothing left to move.
    for order in orders:
        if order.chase_started:
            await signal_workflow(
                temporal,
                order_workflow_id(order.id),
                OrderChase.reassign,
                Reassignment(successor_id, actor),
            )
    await session.commit()
    return manager, [order.id for order in orders]


async def _move(
    session: AsyncSession,
    order: Order,
    manager_id: str | None,
    actor: str,
    now: datetime,
    reason: str | None,
) -> None:
    record(
        session,
        order_id=order.id,
        at=now,
        actor=actor,
        kind="reassigned",
        old=order.assignee_id,
        new=manager_id,
        reason=reason,
    )
    order.assignee_id, order.updated_at = manager_id, now
    for task in await session.scalars(
        select(Task).where(Task.order_id == order.id, Task.status == TaskStatus.OPEN)
    ):
        _move_task(session, task, manager_id, actor, now, reason)


def _move_task(
    session: AsyncSession,
    task: Task,
    manager_id: str | None,
    actor: str,
    now: datetime,
    reason: str | None,
) -> None:
    if task.assignee_id == manager_id:
        return
    record(
        session,
        order_id=task.order_id,
        lead_id=task.lead_id,
        at=now,
        actor=actor,
        kind="task_moved",
        task_id=task.id,
        task_kind=task.kind,
        old=task.assignee_id,
        new=manager_id,
        reason=reason,
    )
    task.assignee_id = manager_id
