"""Starting an order's chase once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from activities.enrollment import start_chase
from api.temporal import answering
from db.models import Order
from settings import Settings


async def ensure_order_chase(
    session: AsyncSession, temporal: Client, settings: Settings, order: Order
) -> None:
    """Start `order-<id>` once: a repeated call, or one after a crash, starts nothing new.
    Temporal out of reach is a 503; the order stays stored and a retry starts its chase."""
    if order.chase_started:
        return
    async with answering(f"starting the chase of order {order.id!r}"):
        timings = settings.order_timings(
            order.product_id, order.customer_timezone, order.created_at.date()
        )
        await start_chase(temporal, order, timings, settings.temporal_task_queue)
    order.chase_started = True
    await session.commit()
