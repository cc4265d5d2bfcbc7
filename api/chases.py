"""Starting and signalling chase workflows, shared by the routes that need them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import Conflict
from api.schemas.orders import DialOut, ProcessOut
from db.models import Order
from settings import Settings
from workflows.dial import Dial
from workflows.order_chase import OrderChase, OrderChaseInput


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


async def query_process(temporal: Client, order_id: str) -> ProcessOut:
    """The chase's query, and its running dial child's counters (or the last dial's)."""
    state = await temporal.get_workflow_handle(order_workflow_id(order_id)).query(OrderChase.state)
    process = ProcessOut(
        stage=state.stage,
        partially_paid=state.partially_paid,
        ends_at=state.ends_at,
        assignee_id=state.assignee_id,
        open_task_id=state.open_task_id,
        dials=state.dials,
    )
    if state.dial_workflow_id is not None:
        counters = await temporal.get_workflow_handle(state.dial_workflow_id).query(Dial.counters)
        process.open_task_id = counters.open_task_id
        process.dial = DialOut(
            workflow_id=state.dial_workflow_id,
            day=counters.day,
            call=counters.call,
            attempts=counters.attempts,
        )
    elif state.last_dial is not None:
        last = state.last_dial
        process.dial = DialOut(
            workflow_id=f"{order_workflow_id(order_id)}-dial-{state.dials}",
            day=last.day,
            call=last.call,
            attempts=last.attempts,
            outcome=last.outcome,
        )
    return process
