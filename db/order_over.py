"""Is this order over? One answer for the API and the activities: the order's row, or an event
the API accepted that its chase has yet to write (a send or a grant must not wait for that)."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Order, OrderEvent
from domain import CLOSED_STATUSES, OrderEventType, OrderStatus


async def order_over(
    session: AsyncSession, order: Order, *, paid_only: bool = False, besides: str | None = None
) -> bool:
    """Paid, cancelled or false (with `paid_only`: paid, as partial payments adding up to the
    amount are), in the row or by an accepted event other than the one named `besides`."""
    ended = {OrderStatus.PAID} if paid_only else CLOSED_STATUSES
    if order.status in ended or order.paid_amount >= order.amount:
        return True
    events = [OrderEventType.PAID] if paid_only else [OrderEventType.PAID, OrderEventType.CANCELLED]
    # An event id no event has stands for "none besides".
    found = await session.scalar(
        _ENDING_EVENT, {"order_id": order.id, "types": events, "besides": besides or ""}
    )
    return found is not None


# Built once (db.history says why).
_ENDING_EVENT = (
    select(OrderEvent.event_id)
    .where(
        OrderEvent.order_id == bindparam("order_id"),
        OrderEvent.type.in_(bindparam("types", expanding=True)),
        OrderEvent.event_id != bindparam("besides"),
    )
    .limit(1)
)
