"""Starting and signalling chase workflows, shared by the routes that need them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from activities.enrollment import order_workflow_id, start_chase
from api.errors import Conflict
from db.models import Order
from settings import Settings

__all__ = ["ensure_order_chase", "order_workflow_id", "signal_order", "signal_workflow"]


async def ensure_order_chase(
    session: AsyncSession, temporal: Client, settings: Settings, order: Order
) -> None:
    """Start `order-<id>` once: a repeated call, or one after a crash, starts nothing new."""
    if order.chase_started:
        return
    timings = settings.order_timings(order.product_id)
    await start_chase(temporal, order, timings, settings.temporal_task_queue)
    order.chase_started = True
    await session.commit()


async def signal_order(temporal: Client, order_id: str, signal: Any, arg: Any) -> None:
    """Signal a running order chase; one that has ended is a conflict, not a server error."""
    await signal_workflow(temporal, order_workflow_id(order_id), signal, arg)


async def signal_workflow(temporal: Client, workflow_id: str, signal: Any, arg: Any) -> None:
    handle: WorkflowHandle[Any, Any] = temporal.get_workflow_handle(workflow_id)
    try:
        await handle.signal(signal, arg)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise Conflict(f"workflow {workflow_id!r} has already ended") from error
        raise
