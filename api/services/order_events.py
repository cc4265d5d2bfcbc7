"""Applying a backend event to an order: one transaction under the order's lock, then the
chase hears of it.

The order row is locked first (db.locks.lock_row), so two events of one order never
interleave: of `paid` and `cancelled` at once, exactly one comes first and the other sees
it. The event is stored before Temporal is told; until the chase has heard it the row's
`signalled_at` is empty and api.redelivery sends it again, so an accepted event is never
lost, even if this process dies between the commit and the signal.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.errors import Conflict, NotFound
from api.schemas.orders import OrderEventIn
from api.services.backend_events import Applied, record_event
from api.temporal import answering, signal_workflow
from db.locks import Missing, lock_row
from db.models import Order, OrderEvent
from db.order_over import order_over
from db.upsert import insert_or_ignore
from domain import (
    CLOSED_STATUSES,
    EndReason,
    OrderEventType,
    OrderStatus,
    late_payment_workflow_id,
    order_workflow_id,
)
from workflows.late_payment import LatePayment, LatePaymentInput
from workflows.messages import OrderCancelled, PaymentReceived, PhoneChanged
from workflows.order_chase import OrderChase

logger = logging.getLogger(__name__)


async def apply_event(
    session: AsyncSession, order_id: str, body: OrderEventIn, now: datetime
) -> Applied[OrderEvent]:
    """Store the event and its effect on the order, or refuse it; the same event_id again
    changes nothing. The caller then delivers it (`deliver`)."""
    try:
        order = await lock_row(session, Order, order_id)
    except Missing as error:
        raise NotFound("order", order_id) from error
    event = await insert_or_ignore(
        session,
        OrderEvent,
        {
            "event_id": body.event_id,
            "order_id": order_id,
            "type": body.type,
            "amount": body.amount,
            "phone": body.phone,
            "occurred_at": body.occurred_at,
            "received_at": now,
        },
    )
    if event is None:
        await session.rollback()  # the lock with it: this event changes nothing
        seen = await session.get(OrderEvent, body.event_id)
        assert seen is not None
        if seen.order_id != order_id:
            raise Conflict(f"event {body.event_id!r} was already used for another order")
        return Applied(seen, duplicate=True)

    refusal = await _refusal(session, order, event)
    if refusal is not None:
        await session.rollback()
        raise Conflict(refusal)
    amount = str(body.amount) if body.amount else None
    record_event(
        session, body, now, order_id=order_id, amount=amount, phone=body.phone, email=body.email
    )
    if body.type == OrderEventType.PARTIALLY_PAID:
        assert body.amount is not None  # the schema demands it
        # One statement adds the part, so parts posted at once all count.
        await session.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(paid_amount=Order.paid_amount + body.amount)
        )
    if body.type == OrderEventType.PHONE_CHANGED:
        order.phone = body.phone
    if body.type == OrderEventType.EMAIL_CHANGED:
        order.customer_email = str(body.email)
    await session.commit()  # `deliver` reads the order afresh
    return Applied(event, duplicate=False)


async def _refusal(session: AsyncSession, order: Order, event: OrderEvent) -> str | None:
    """Why this event cannot apply to the order as it stands, or None. Money wins: a
    payment is refused only by an order paid already; a cancel or a new phone by any end."""
    if await order_over(session, order, paid_only=True, besides=event.event_id):
        return f"order {order.id!r} is already paid"
    type = event.type
    if type in (OrderEventType.PAID, OrderEventType.PARTIALLY_PAID):
        return None
    if order.status in CLOSED_STATUSES:
        return f"order {order.id!r} is already {order.status}"
    return None


async def deliver(
    session: AsyncSession, temporal: Client, task_queue: str, event: OrderEvent, now: datetime
) -> None:
    """Tell the chase of a stored event, or close the order paid when no chase is there to
    hear a payment; then mark the event heard. Raises Unavailable (503) when Temporal does
    not answer: the event stays owed and is sent again."""
    order = await session.get(Order, event.order_id, populate_existing=True)
    assert order is not None
    chase = order_workflow_id(order.id)
    heard = True
    if order.status == OrderStatus.PAID:
        pass  # the chase ended paid: nothing is owed to anyone
    elif event.type == OrderEventType.EMAIL_CHANGED:
        pass  # each email reads the address when it is written: the chase needs no word
    elif event.type == OrderEventType.CANCELLED:
        cancel = OrderCancelled(event.event_id)
        heard = await signal_workflow(temporal, chase, OrderChase.cancel, cancel)
    elif event.type == OrderEventType.PHONE_CHANGED:
        heard = await signal_workflow(
            temporal, chase, OrderChase.change_phone, PhoneChanged(event.event_id)
        )
    else:
        # Partial payments that add up to the amount pay the order.
        full = event.type == OrderEventType.PAID or order.paid_amount >= order.amount
        payment = PaymentReceived(event.event_id, full)
        heard = await signal_workflow(temporal, chase, OrderChase.record_payment, payment)
        if not heard and full:
            await _close_paid(temporal, task_queue, order)
            heard = True
    if not heard:
        # The chase wrote its end after this event was accepted: it ends as it ended.
        logger.warning("event %s: the chase of order %s had ended", event.event_id, order.id)
    await session.execute(_HEARD, {"heard_id": event.event_id, "heard_at": now})
    await session.commit()


# Built once (db.history says why).
_HEARD = (
    update(OrderEvent)
    .where(OrderEvent.event_id == bindparam("heard_id"))
    .values(signalled_at=bindparam("heard_at"))
)


async def _close_paid(temporal: Client, task_queue: str, order: Order) -> None:
    """No chase to hear the payment: a short workflow writes the paid end and thanks."""
    ended = order.status in (OrderStatus.CANCELLED, OrderStatus.FALSE) or order.chase_started
    reason = EndReason.PAID_AFTER_CANCEL if ended else EndReason.PAID
    try:
        async with answering(f"closing order {order.id!r} as paid"):
            await temporal.start_workflow(
                LatePayment.run,
                LatePaymentInput(order_id=order.id, reason=reason),
                id=late_payment_workflow_id(order.id),
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
    except WorkflowAlreadyStartedError:
        pass  # a redelivery, or a second payment: the order is being closed once
