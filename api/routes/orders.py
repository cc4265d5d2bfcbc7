"""Orders: the backend reports them and their events; each one is chased by `order-<id>`."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.instalments import covered_parts, plan_of
from api.deps import BackendDep, CallerDep, ContextDep
from api.errors import responses
from api.lookup import get_or_404, known_id
from api.schemas.common import EventAccepted
from api.schemas.orders import (
    AssignIn,
    InstalmentOut,
    OfferOut,
    OrderEventIn,
    OrderIn,
    OrderOut,
    PauseIn,
)
from api.schemas.purchases import purchase_out
from api.services import managers, orders, pauses
from api.services.chases import ensure_order_chase
from api.services.order_events import apply_event, deliver
from api.services.process import Zones, order_process
from api.timeline import add_history_route
from db.models import Discount, Manager, Order
from domain import CLOSED_STATUSES, InstalmentStatus, OfferStatus

router = APIRouter(prefix="/v1/orders", tags=["orders"])


async def _offer(session: AsyncSession, order_id: str) -> OfferOut | None:
    """The order's latest personal offer, as the discounts table has it."""
    discount = await session.scalar(
        select(Discount)
        .where(Discount.order_id == order_id)
        .order_by(Discount.created_at.desc(), Discount.id.desc())
    )
    if discount is None:
        return None
    return OfferOut(
        percent=discount.percent,
        valid_until=discount.valid_until,
        status=OfferStatus(discount.status),
        granted_at=discount.created_at,
    )


async def _paused_out(session: AsyncSession, order: Order, now: datetime) -> OrderOut:
    out = purchase_out(OrderOut, order)
    out.pause = await pauses.current_pause(session, order.id, now)
    return out


@router.post("", status_code=201)
async def create_order(
    body: OrderIn, response: Response, ctx: ContextDep, _: BackendDep
) -> OrderOut:
    """An order was created: store it and start its chase; the same order again starts nothing."""
    stored = await orders.create_order(ctx.session, body, ctx.settings, await ctx.clock())
    response.status_code = stored.status_code
    if stored.row.status not in CLOSED_STATUSES:
        await ensure_order_chase(ctx.session, ctx.temporal, ctx.settings, stored.row)
    return purchase_out(OrderOut, stored.row)


@router.post("/{order_id}/events", status_code=202, responses=responses(404, 409))
async def post_order_event(
    order_id: str, body: OrderEventIn, ctx: ContextDep, _: BackendDep
) -> EventAccepted:
    """Paid, partly paid, cancelled or a new phone; the same event_id twice changes nothing.
    A payment is never refused but by a paid order; a cancel after a payment is."""
    now = await ctx.clock()
    applied = await apply_event(ctx.session, known_id("order", order_id), body, now)
    if applied.event.signalled_at is None:
        task_queue = ctx.settings.temporal_task_queue
        await deliver(ctx.session, ctx.temporal, task_queue, applied.event, now)
    return EventAccepted(event_id=body.event_id, duplicate=applied.duplicate)


@router.post("/{order_id}/assign", responses=responses(404, 409))
async def assign_order(order_id: str, body: AssignIn, ctx: ContextDep, _: BackendDep) -> OrderOut:
    """Re-assign an open order: its open task moves now, and the chase sends later ones there."""
    order = await managers.assign_order(
        ctx.session,
        ctx.temporal,
        order_id=known_id("order", order_id),
        manager_id=body.manager_id,
        actor="backend",
        now=await ctx.clock(),
    )
    return purchase_out(OrderOut, order)


@router.post("/{order_id}/pause", responses=responses(404, 409))
async def pause_order(order_id: str, body: PauseIn, ctx: ContextDep, caller: CallerDep) -> OrderOut:
    """Pause the chase until `until` (the backend, or the order's manager): no email and no
    task meanwhile, and its waits move on by the pause. Pausing again moves `until`."""
    now = await ctx.clock()
    order_id = known_id("order", order_id)
    order = await pauses.pause_order(
        ctx.session, ctx.temporal, order_id=order_id, body=body, caller=caller, now=now
    )
    return await _paused_out(ctx.session, order, now)


@router.post("/{order_id}/resume", responses=responses(404, 409))
async def resume_order(order_id: str, ctx: ContextDep, caller: CallerDep) -> OrderOut:
    """End a pause early: the chase goes on with the rest of each wait. Not paused: nothing."""
    now = await ctx.clock()
    order_id = known_id("order", order_id)
    order = await pauses.resume_order(
        ctx.session, ctx.temporal, order_id=order_id, caller=caller, now=now
    )
    return await _paused_out(ctx.session, order, now)


@router.get("/{order_id}", responses=responses(404))
async def get_order(order_id: str, ctx: ContextDep, _: BackendDep) -> OrderOut:
    """Status, assignee and outcome from the database; the running process from its query,
    with when it next acts on the manager's and the customer's clocks, or `live: false` when
    no worker answered in time."""
    session, settings = ctx.session, ctx.settings
    order = await get_or_404(session, Order, "order", order_id)
    out = purchase_out(OrderOut, order)
    out.offer = await _offer(session, order.id)
    plan = await plan_of(session, order.id)
    covered = covered_parts(order, plan)  # the payments, as they stand now
    out.instalments = [
        InstalmentOut(
            number=part.number,
            amount=part.amount,
            due_at=part.due_at,
            status=InstalmentStatus(
                InstalmentStatus.PAID if part.number in covered else part.status
            ),
        )
        for part in plan
    ]
    if order.status not in CLOSED_STATUSES:
        out.pause = await pauses.current_pause(session, order.id, await ctx.clock())
    if order.chase_started and order.status not in CLOSED_STATUSES:
        assignee = await session.get(Manager, order.assignee_id) if order.assignee_id else None
        zones = Zones(
            manager=assignee.timezone if assignee else settings.default_timezone,
            customer=order.customer_timezone or settings.default_timezone,
        )
        out.process = await order_process(ctx.temporal, order.id, zones)
        out.live = out.process is not None
    return out


add_history_route(
    router,
    Order,
    "The order's timeline: events, status changes, emails, tasks and answers, oldest first.",
)
