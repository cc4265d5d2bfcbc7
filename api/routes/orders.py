"""Orders: the backend reports them and their events; each one is chased by `order-<id>`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from fastapi import APIRouter, Response
from sqlalchemy import select

from activities.instalments import covered_parts, plan_of
from api.deps import BackendDep, CallerDep, ClockDep, SessionDep, SettingsDep, TemporalDep
from api.errors import responses
from api.lookup import get_or_404, known_id
from api.pagination import PagerDep
from api.schemas.common import HistoryLine, from_row
from api.schemas.orders import (
    AssignIn,
    CustomerOut,
    EventAccepted,
    InstalmentOut,
    OfferOut,
    OrderEventIn,
    OrderIn,
    OrderOut,
    PauseIn,
    ProductOut,
)
from api.services import managers, pauses
from api.services.chases import ensure_order_chase
from api.services.order_events import apply_event, deliver
from api.services.process import Zones, order_process
from api.timeline import timeline
from db.history import record
from db.models import Discount, HistoryEntry, Manager, Order
from db.upsert import insert_or_ignore
from domain import (
    CLOSED_STATUSES,
    InstalmentStatus,
    OfferStatus,
    OrderStatus,
)

router = APIRouter(prefix="/v1/orders", tags=["orders"])


@router.post("", status_code=201)
async def create_order(
    body: OrderIn,
    response: Response,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    clock: ClockDep,
    _: BackendDep,
) -> OrderOut:
    """An order was created: store it and start its chase; the same order again starts nothing."""
    now = await clock()
    created = await insert_or_ignore(
        session,
        Order,
        {
            "id": body.id,
            "product_id": body.product.id,
            "product_name": body.product.name,
            "amount": body.amount,
            "currency": body.currency,
            "customer_name": body.customer.name,
            "customer_email": body.customer.email,
            "phone": body.customer.phone,
            "customer_timezone": body.customer.timezone,
            "language": body.language or settings.default_language,
            "status": OrderStatus.NEW,
            "paid_amount": Decimal(0),
            "chase_started": False,
            "created_at": body.created_at or now,
            "updated_at": now,
        },
    )
    if created:
        record(session, order_id=body.id, at=now, actor="backend", kind="order_created")
    await session.commit()
    if not created:
        response.status_code = 200  # the same order again, perhaps posted twice at once
    order = await session.get(Order, body.id)
    assert order is not None
    if order.status not in CLOSED_STATUSES:
        await ensure_order_chase(session, temporal, settings, order)
    return _order_out(order)


async def _offer(session: SessionDep, order_id: str) -> OfferOut | None:
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


@router.post("/{order_id}/events", status_code=202, responses=responses(404, 409))
async def post_order_event(
    order_id: str,
    body: OrderEventIn,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    clock: ClockDep,
    _: BackendDep,
) -> EventAccepted:
    """Paid, partly paid, cancelled or a new phone; the same event_id twice changes nothing.
    A payment is never refused but by a paid order; a cancel after a payment is."""
    now = await clock()
    applied = await apply_event(session, known_id("order", order_id), body, now)
    if applied.event.signalled_at is None:
        await deliver(session, temporal, settings.temporal_task_queue, applied.event, now)
    return EventAccepted(event_id=body.event_id, duplicate=applied.duplicate)


@router.post("/{order_id}/assign", responses=responses(404, 409, 503))
async def assign_order(
    order_id: str,
    body: AssignIn,
    session: SessionDep,
    temporal: TemporalDep,
    clock: ClockDep,
    _: BackendDep,
) -> OrderOut:
    """Re-assign an open order: its open task moves now, and the chase sends later ones there."""
    order = await managers.assign_order(
        session,
        temporal,
        order_id=known_id("order", order_id),
        manager_id=body.manager_id,
        actor="backend",
        now=await clock(),
    )
    return _order_out(order)


@router.post("/{order_id}/pause", responses=responses(403, 404, 409, 422, 503))
async def pause_order(
    order_id: str,
    body: PauseIn,
    session: SessionDep,
    temporal: TemporalDep,
    clock: ClockDep,
    caller: CallerDep,
) -> OrderOut:
    """Pause the chase until `until` (the backend, or the order's manager): no email and no
    task meanwhile, and its waits move on by the pause. Pausing again moves `until`."""
    now = await clock()
    order = await pauses.pause_order(
        session, temporal, order_id=known_id("order", order_id), body=body, caller=caller, now=now
    )
    return await _paused_out(session, order, now)


@router.post("/{order_id}/resume", responses=responses(403, 404, 409, 503))
async def resume_order(
    order_id: str,
    session: SessionDep,
    temporal: TemporalDep,
    clock: ClockDep,
    caller: CallerDep,
) -> OrderOut:
    """End a pause early: the chase goes on with the rest of each wait. Not paused: nothing."""
    now = await clock()
    order = await pauses.resume_order(
        session, temporal, order_id=known_id("order", order_id), caller=caller, now=now
    )
    return await _paused_out(session, order, now)


async def _paused_out(session: SessionDep, order: Order, now: datetime) -> OrderOut:
    out = _order_out(order)
    out.pause = await pauses.current_pause(session, order.id, now)
    return out


@router.get("/{order_id}", responses=responses(404))
async def get_order(
    order_id: str,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    clock: ClockDep,
    _: BackendDep,
) -> OrderOut:
    """Status, assignee and outcome from the database; the running process from its query,
    with when it next acts on the manager's and the customer's clocks, or `live: false` when
    no worker answered in time."""
    order = await get_or_404(session, Order, "order", order_id)
    out = _order_out(order)
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
        out.pause = await pauses.current_pause(session, order.id, await clock())
    if order.chase_started and order.status not in CLOSED_STATUSES:
        assignee = await session.get(Manager, order.assignee_id) if order.assignee_id else None
        zones = Zones(
            manager=assignee.timezone if assignee else settings.default_timezone,
            customer=order.customer_timezone or settings.default_timezone,
        )
        out.process = await order_process(temporal, order.id, zones)
        out.live = out.process is not None
    return out


@router.get("/{order_id}/history", responses=responses(404))
async def get_order_history(
    order_id: str, session: SessionDep, _: BackendDep, pager: PagerDep
) -> list[HistoryLine]:
    """The order's timeline: events, status changes, emails, tasks and answers, oldest first."""
    order = await get_or_404(session, Order, "order", order_id)
    return await timeline(session, HistoryEntry.order_id == order.id, pager)


def _order_out(order: Order) -> OrderOut:
    return from_row(OrderOut, order, product=ProductOut.of(order), customer=CustomerOut.of(order))
