"""Storing a posted order once (its chase is started by api.services.chases)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas.orders import OrderIn
from api.services.purchases import Stored, purchase_columns, store_once
from db.models import Order
from domain import OrderStatus
from settings import Settings


async def create_order(
    session: AsyncSession, body: OrderIn, settings: Settings, now: datetime
) -> Stored[Order]:
    """Store the order once; the same id again changes nothing."""
    return await store_once(
        session,
        Order,
        {
            "id": body.id,
            **purchase_columns(body, settings.default_language),
            "amount": body.amount,
            "status": OrderStatus.NEW,
            "paid_amount": Decimal(0),
            "chase_started": False,
            "created_at": body.created_at or now,
            "updated_at": now,
        },
        now,
        order_id=body.id,
        kind="order_created",
    )
