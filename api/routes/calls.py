"""`GET /v1/call-list`: unpaid, open orders that have a phone (seed 001, section 5)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from activities.orders import CLOSED_STATUSES
from api.deps import CallerDep, SessionDep
from api.schemas.tasks import CallListEntry
from db.models import Order
from domain import OrderStatus

router = APIRouter(prefix="/v1/call-list", tags=["orders"])


@router.get("")
async def call_list(_: CallerDep, session: SessionDep) -> list[CallListEntry]:
    """For the backend or any manager: whom to call, oldest order first."""
    orders = await session.scalars(
        select(Order)
        .where(Order.status.not_in(CLOSED_STATUSES), Order.phone.is_not(None))
        .order_by(Order.created_at, Order.id)
    )
    return [
        CallListEntry(
            order_id=o.id,
            status=OrderStatus(o.status),
            customer_name=o.customer_name,
            phone=o.phone or "",
            product_name=o.product_name,
            amount=str(o.amount),
            currency=o.currency,
            assignee_id=o.assignee_id,
            created_at=o.created_at,
        )
        for o in orders
    ]
