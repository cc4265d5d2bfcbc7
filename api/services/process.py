"""The running chase as its queries tell it, for the order's API view and its web page."""

from __future__ import annotations

from temporalio.client import Client

from api.schemas.orders import DialOut, ProcessOut
from api.temporal import query_workflow
from domain import legacy_dial_workflow_id, order_workflow_id
from workflows.dial import Dial
from workflows.order_chase import OrderChase


async def order_process(temporal: Client, order_id: str) -> ProcessOut | None:
    """The chase's query, and its running dial child's counters (or the last dial's)."""
    state = await query_workflow(temporal, order_workflow_id(order_id), OrderChase.state)
    if state is None:
        return None
    process = ProcessOut(
        stage=state.stage,
        partially_paid=state.partially_paid,
        ends_at=state.ends_at,
        assignee_id=state.assignee_id,
        open_task_id=state.open_task_id,
        dials=state.dials,
    )
    if state.dial_workflow_id is not None:
        counters = await query_workflow(temporal, state.dial_workflow_id, Dial.counters)
        if counters is None:
            return None
        process.open_task_id = counters.open_task_id
        process.dial = DialOut(
            workflow_id=state.dial_workflow_id,
            day=counters.day,
            call=counters.call,
            attempts=counters.attempts,
            next_call_at=counters.next_call_at,
        )
    elif state.last_dial is not None:
        last = state.last_dial
        process.dial = DialOut(
            workflow_id=state.last_dial_workflow_id
            or legacy_dial_workflow_id(order_workflow_id(order_id), state.dials),
            day=last.day,
            call=last.call,
            attempts=last.attempts,
            outcome=last.outcome,
        )
    return process
