"""The running workflows as their queries tell them: an order's chase (for the order's API view
and its web page) and a subscription's renewal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from temporalio.client import Client

from api.schemas.common import from_row
from api.schemas.orders import DialOut, DueStep, NextDue, ProcessOut, ZonedMoment
from api.schemas.subscriptions import RenewalProcessOut
from api.temporal import query_workflow
from domain import legacy_dial_workflow_id, order_workflow_id, renewal_workflow_id
from workflows.dial import Dial
from workflows.messages import RenewalState
from workflows.order_chase import OrderChase
from workflows.renewal import Renewal


@dataclass(frozen=True)
class Zones:
    """Whose clocks the next due moment is shown on."""

    manager: str
    customer: str


async def order_process(
    temporal: Client, order_id: str, zones: Zones | None = None
) -> ProcessOut | None:
    """The chase's query, and its running dial child's counters (or the last dial's); with
    `zones`, when the chase next acts on its own."""
    state = await query_workflow(temporal, order_workflow_id(order_id), OrderChase.state)
    if state is None:
        return None
    process = from_row(ProcessOut, state)
    # The manager process's step first (its wait, or the dial's next call); the email
    # cadence's next email only while that step waits for people alone.
    dues: list[tuple[datetime | None, DueStep]] = [(state.step_due_at, "wait")]
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
        dues.append((counters.next_call_at, "call"))
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
    known = [(at, step) for at, step in dues if at is not None]
    if not known and state.next_email_at is not None:
        known = [(state.next_email_at, "email")]
    if zones is not None and known:
        at, step = min(known)
        process.next_due = NextDue(
            step=step,
            at=at,
            manager=_zoned(at, zones.manager),
            customer=_zoned(at, zones.customer),
        )
    return process


async def renewal_process(temporal: Client, subscription_id: str) -> RenewalProcessOut | None:
    """The renewal's query: the running period's next step; None when no worker answered."""
    workflow_id = renewal_workflow_id(subscription_id)
    state: RenewalState | None = await query_workflow(temporal, workflow_id, Renewal.state)
    return None if state is None else from_row(RenewalProcessOut, state)


def _zoned(at: datetime, zone: str) -> ZonedMoment:
    return ZonedMoment(timezone=zone, local=at.astimezone(ZoneInfo(zone)))
