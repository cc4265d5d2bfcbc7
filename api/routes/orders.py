"""Orders: the backend reports them and their events; each one is chased by `order-<id>`."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from temporalio.service import RPCError

from activities.orders import CLOSED_STATUSES
from api.chases import ensure_order_chase, query_process, signal_order
from api.deps import BackendDep, ClockDep, SessionDep, SettingsDep, TemporalDep
from api.errors import Conflict, NotFound
from api.schemas.common import HistoryLine
from api.schemas.orders import (
    AssignIn,
    Customer,
    EnrollIn,
    EnrollOut,
    EventAccepted,
    OfferOut,
    OrderEventIn,
    OrderIn,
    OrderOut,
    Product,
)
from api.services import managers
from api.timeline import timeline
from db.history import record
from db.models import Discount, HistoryEntry, Order, OrderEvent
from workflows.order_chase import OrderCancelled, OrderChase, PaymentReceived, PhoneChanged

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
    order = await session.get(Order, body.id)
    if order is None:
        now = await clock()
        order = Order(
            id=body.id,
            product_id=body.product.id,
            product_name=body.product.name,
            amount=body.amount,
            currency=body.currency,
            customer_name=body.customer.name,
            customer_email=body.customer.email,
            phone=body.customer.phone,
            language=body.language or settings.default_language,
            status="new",
            paid_amount=Decimal(0),
            created_at=body.created_at or now,
            updated_at=now,
        )
        session.add(order)
        try:
            await session.flush()  # the order row first: its timeline line refers to it
            record(session, order_id=order.id, at=now, actor="backend", kind="order_created")
            await session.commit()
        except IntegrityError:
            # The same order posted twice at once: the other request created it.
            await session.rollback()
            order = await session.get(Order, body.id)
            if order is None:
                raise
            response.status_code = 200
    else:
        response.status_code = 200
    if order.status not in CLOSED_STATUSES:
        await ensure_order_chase(session, temporal, settings, order)
    return _order_out(order)


# Declared before the `/{order_id}` routes, so "enroll" is never read as an order id.
@router.post("/enroll")
async def enroll_orders(
    body: EnrollIn,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    clock: ClockDep,
    _: BackendDep,
) -> EnrollOut:
    """Start chases for known unpaid orders that have none; enrolling twice starts nothing new."""
    query = select(Order).where(
        Order.chase_started.is_(False), Order.status.not_in(CLOSED_STATUSES)
    )
    if body.product_id is not None:
        query = query.where(Order.product_id == body.product_id)
    if body.created_before is not None:
        query = query.where(Order.created_at < body.created_before)
    orders = list(await session.scalars(query.order_by(Order.created_at, Order.id)))
    now = await clock()
    for order in orders:
        # Committed with the order's chase_started flag by ensure_order_chase.
        record(session, order_id=order.id, at=now, actor="backend", kind="enrolled")
        await ensure_order_chase(session, temporal, settings, order)
    return EnrollOut(started=len(orders), order_ids=[order.id for order in orders])


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
        status=discount.status,
        granted_at=discount.created_at,
    )


@router.post("/{order_id}/events", status_code=202)
async def post_order_event(
    order_id: str,
    body: OrderEventIn,
    session: SessionDep,
    temporal: TemporalDep,
    clock: ClockDep,
    _: BackendDep,
) -> EventAccepted:
    """Paid, partly paid, cancelled or a new phone; the same event_id twice changes nothing."""
    order = await _get_order(session, order_id)
    seen = await session.get(OrderEvent, body.event_id)
    if seen is not None:
        if seen.order_id != order_id:
            raise Conflict(f"event {body.event_id!r} was already used for another order")
        return EventAccepted(event_id=body.event_id, duplicate=True)
    if order.status in CLOSED_STATUSES:
        raise Conflict(f"order {order_id!r} is already {order.status}")

    now = await clock()
    session.add(
        OrderEvent(
            event_id=body.event_id,
            order_id=order_id,
            type=body.type,
            amount=body.amount,
            phone=body.phone,
            occurred_at=body.occurred_at,
            received_at=now,
        )
    )
    record(
        session,
        order_id=order_id,
        at=now,
        actor="backend",
        kind="event",
        event_id=body.event_id,
        type=body.type,
        amount=str(body.amount) if body.amount else None,
        phone=body.phone,
    )
    if body.type == "partially_paid" and body.amount is not None:
        order.paid_amount += body.amount
    if body.type == "phone_changed":
        order.phone = body.phone
    await session.flush()  # a clash on event_id surfaces here, before the workflow hears of it

    if body.type == "cancelled":
        await signal_order(temporal, order_id, OrderChase.cancel, OrderCancelled(body.event_id))
    elif body.type == "phone_changed":
        await signal_order(temporal, order_id, OrderChase.change_phone, PhoneChanged(body.event_id))
    else:
        # Partial payments that add up to the amount pay the order.
        full = body.type == "paid" or order.paid_amount >= order.amount
        await signal_order(
            temporal, order_id, OrderChase.record_payment, PaymentReceived(body.event_id, full)
        )
    await session.commit()
    return EventAccepted(event_id=body.event_id, duplicate=False)


@router.post("/{order_id}/assign")
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
        order_id=order_id,
        manager_id=body.manager_id,
        actor="backend",
        now=await clock(),
    )
    return _order_out(order)


@router.get("/{order_id}")
async def get_order(
    order_id: str, session: SessionDep, temporal: TemporalDep, _: BackendDep
) -> OrderOut:
    """Status, assignee and outcome from the database; the running process from its query."""
    order = await _get_order(session, order_id)
    out = _order_out(order)
    out.offer = await _offer(session, order_id)
    if order.chase_started and order.status not in CLOSED_STATUSES:
        try:
            out.process = await query_process(temporal, order_id)
        except RPCError:
            pass  # no worker to answer right now: the stored status still stands
    return out


@router.get("/{order_id}/history")
async def get_order_history(order_id: str, session: SessionDep, _: BackendDep) -> list[HistoryLine]:
    """The order's timeline: events, status changes, emails, tasks and answers, oldest first."""
    await _get_order(session, order_id)
    return await timeline(session, HistoryEntry.order_id == order_id)


async def _get_order(session: SessionDep, order_id: str) -> Order:
    order = await session.get(Order, order_id)
    if order is None:
        raise NotFound("order", order_id)
    return order


def _order_out(order: Order) -> OrderOut:
    return OrderOut(
        id=order.id,
        product=Product(id=order.product_id, name=order.product_name),
        amount=order.amount,
        paid_amount=order.paid_amount,
        currency=order.currency,
        customer=Customer(name=order.customer_name, email=order.customer_email, phone=order.phone),
        language=order.language,
        status=order.status,
        assignee_id=order.assignee_id,
        outcome=order.outcome,
        end_reason=order.end_reason,
        created_at=order.created_at,
        updated_at=order.updated_at,
        ended_at=order.ended_at,
    )
