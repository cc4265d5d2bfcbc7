"""Starting an order's chase once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.temporal import answering
from db.models import Order
from domain import order_workflow_id
from settings import Settings
from workflows.order_chase import OrderChase, OrderChaseInput


async def ensure_order_chase(
    session: AsyncSession, temporal: Client, settings: Settings, order: Order
) -> None:
    """Start `order-<id>` once: a repeated call, or one after a crash, starts nothing new.
    Temporal out of reach is a 503; the order stays stored and a retry starts its chase."""
    if order.chase_started:
        return
    try:
        async with answering(f"starting the chase of order {order.id!r}"):
            await temporal.start_workflow(
                OrderChase.run,
                OrderChaseInput(
                    order_id=order.id,
                    has_phone=order.phone is not None,
                    timings=settings.order_timings(order.product_id),
                ),
                id=order_workflow_id(order.id),
                task_queue=settings.temporal_task_queue,
                # A running chase is reused; an ended one is never started again.
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
    except WorkflowAlreadyStartedError:
        pass
    order.chase_started = True
    await session.commit()
