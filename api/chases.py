"""Starting and signalling chase workflows, shared by the routes that need them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import Conflict
from db.models import Order
from settings import Settings
from workflows.order_chase import OrderChase, OrderChaseInput
from workflows.search_attributes import ORDER_AMOUNT, ORDER_STATUS, PRODUCT_ID


def order_workflow_id(order_id: str) -> str:
    return f"order-{order_id}"


async def ensure_order_chase(
    session: AsyncSession, temporal: Client, settings: Settings, order: Order
) -> None:
    """Start `order-<id>` once: a repeated call, or one after a crash, starts nothing new."""
    if order.chase_started:
        return
    try:
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
            # What the chase itself does not track; it upserts stage, status and assignee.
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(ORDER_STATUS, order.status),
                    SearchAttributePair(PRODUCT_ID, order.product_id),
                    SearchAttributePair(ORDER_AMOUNT, float(order.amount)),
                ]
            ),
        )
    except WorkflowAlreadyStartedError:
        pass
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
