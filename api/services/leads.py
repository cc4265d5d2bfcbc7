"""Applying a lead event: Chasing starts the lead's next chase, anything else stops a running
one. The lead row is the authority on whether a chase is on; Temporal hears of it after the
commit, and the chase's activities read the row before every email."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from api.deps import Context
from api.errors import Conflict, Invalid, NotFound
from api.schemas.leads import LeadEventIn, LeadIn
from api.services.backend_events import record_event
from api.temporal import answering, signal_best_effort
from db.history import record
from db.models import Lead, LeadEvent, Manager
from domain import LEAD_CHASING, LeadStopReason, lead_workflow_id
from settings import Settings
from workflows.lead_chase import LeadChase
from workflows.messages import LeadChaseInput, StopChase
from workflows.search_attributes import ASSIGNEE_ID


async def apply_event(ctx: Context, lead_id: str, body: LeadEventIn) -> bool:
    """Store the event and its effect on the lead, then start or stop its chase; True when
    the event_id was seen before (nothing changes)."""
    session, temporal, settings = ctx.session, ctx.temporal, ctx.settings
    seen = await session.get(LeadEvent, body.event_id)
    if seen is not None:
        return await _duplicate(session, temporal, settings, seen, lead_id)
    if body.lead is not None:
        manager_id = body.lead.responsible_manager_id
        if await session.get(Manager, manager_id) is None:
            raise Invalid(f"responsible manager {manager_id!r} does not exist")
    now = await ctx.clock()
    lead = await _lead_for(session, settings, lead_id, body, now)
    turn = _turn(lead, body, now)
    try:
        await _store(session, lead, body, turn, now)
    except IntegrityError as error:
        # The same event, or a first event of the same new lead, posted twice at once.
        await session.rollback()
        seen = await session.get(LeadEvent, body.event_id)
        if seen is not None:
            return await _duplicate(session, temporal, settings, seen, lead_id)
        raise Conflict(f"lead {lead_id!r} changed meanwhile: post the event again") from error

    # Temporal hears of it after the commit: the chase's activities read the lead from the
    # database, which stays the authority on whether a chase is on.
    if turn == "start":
        # No chase is on, as the record says: a run still there is a stopped one finishing
        # its last write (a reply, then Chasing again at once), so it makes way.
        await start_lead_chase(
            temporal, settings, lead, WorkflowIDConflictPolicy.TERMINATE_EXISTING
        )
    elif turn == "stop":
        assert lead.stopped_reason is not None
        await stop_lead_chase(temporal, lead_id, StopChase(body.event_id, lead.stopped_reason))
    return False


async def _lead_for(
    session: AsyncSession, settings: Settings, lead_id: str, body: LeadEventIn, now: datetime
) -> Lead:
    """The lead, locked, with the backend's data from the event; a new one if it brings it."""
    # Locked on PostgreSQL: two events of one lead at once must not both start a chase.
    lead = await session.get(Lead, lead_id, with_for_update=True)
    if lead is None:
        if body.lead is None:
            raise NotFound("lead", lead_id)
        lead = _new_lead(lead_id, body.lead, settings, now)
        session.add(lead)
    elif body.lead is not None:
        _update_lead(lead, body.lead)
    return lead


def _turn(lead: Lead, body: LeadEventIn, now: datetime) -> Literal["start", "stop"] | None:
    """Apply the event to the lead: Chasing starts the next chase, anything else stops a
    running one; what it did to the chase, if anything."""
    was_chasing = chase_on(lead)
    to_chasing = body.type == "status_changed" and body.status == LEAD_CHASING
    if body.type == "status_changed":
        assert body.status is not None  # the schema demands it
        lead.status = body.status
    lead.updated_at = now
    if to_chasing and not was_chasing:
        lead.chase_number += 1
        lead.chase_round = lead.emails_sent = 0
        lead.next_email_due = lead.stopped_reason = None
        return "start"
    if was_chasing and not to_chasing:
        lead.stopped_reason = (
            LeadStopReason.REPLIED if body.type == "replied" else LeadStopReason.STATUS_CHANGED
        )
        lead.next_email_due = None
        return "stop"
    return None


async def _store(
    session: AsyncSession,
    lead: Lead,
    body: LeadEventIn,
    turn: Literal["start", "stop"] | None,
    now: datetime,
) -> None:
    """Commit the lead, the event and their timeline lines together."""
    await session.flush()  # the lead row first: the event and its timeline line refer to it
    session.add(
        LeadEvent(
            event_id=body.event_id,
            lead_id=lead.id,
            type=body.type,
            status=body.status,
            received_at=now,
        )
    )
    record_event(session, body, now, lead_id=lead.id, status=body.status)
    if turn == "start":
        record(
            session,
            lead_id=lead.id,
            at=now,
            actor="backend",
            kind="chase_started",
            chase_number=lead.chase_number,
        )
    await session.commit()


def chase_on(lead: Lead) -> bool:
    """Whether the lead's latest chase is still running, as far as the database knows."""
    return lead.status == LEAD_CHASING and lead.chase_number > 0 and lead.stopped_reason is None


async def start_lead_chase(
    temporal: Client, settings: Settings, lead: Lead, on_conflict: WorkflowIDConflictPolicy
) -> None:
    """Start the lead's current chase with the calendar as configured now."""
    async with answering(f"starting the chase of lead {lead.id!r}"):
        await _start(temporal, settings, lead, on_conflict)


async def _start(
    temporal: Client, settings: Settings, lead: Lead, on_conflict: WorkflowIDConflictPolicy
) -> None:
    await temporal.start_workflow(
        LeadChase.run,
        LeadChaseInput(
            lead_id=lead.id,
            chase_number=lead.chase_number,
            # The calendar around the day the lead became Chasing.
            timings=settings.lead_timings(lead.updated_at.date()),
        ),
        id=lead_workflow_id(lead.id),
        task_queue=settings.temporal_task_queue,
        # One id serves every chase of the lead, so an ended one may be followed by a new one.
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        # A repeated Chasing while a chase is on never gets here: it changes nothing.
        id_conflict_policy=on_conflict,
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(ASSIGNEE_ID, lead.responsible_manager_id)]
        ),
    )


async def stop_lead_chase(temporal: Client, lead_id: str, stop: StopChase) -> None:
    """Stop the running chase at once; one that has already ended needs nothing.

    The stop is recorded already, and the chase reads the record before every email: a
    signal that cannot be delivered now makes the stop later, never undone.
    """
    await signal_best_effort(temporal, lead_workflow_id(lead_id), LeadChase.stop, stop)


async def _duplicate(
    session: AsyncSession, temporal: Client, settings: Settings, seen: LeadEvent, lead_id: str
) -> bool:
    if seen.lead_id != lead_id:
        raise Conflict(f"event {seen.event_id!r} was already used for another lead")
    lead = await session.get(Lead, lead_id)
    # The backend retries when a start failed after the commit: the record says a chase is
    # on, but it has not taken a step. Start it now; a running one is left as it is.
    if lead is not None and chase_on(lead) and lead.chase_round == 0:
        await start_lead_chase(temporal, settings, lead, WorkflowIDConflictPolicy.USE_EXISTING)
    return True


def _new_lead(lead_id: str, data: LeadIn, settings: Settings, now: datetime) -> Lead:
    return Lead(
        id=lead_id,
        title=data.title,
        name=data.name,
        email=data.email,
        responsible_manager_id=data.responsible_manager_id,
        language=data.language or settings.default_language,
        status="new",
        chase_number=0,
        chase_round=0,
        emails_sent=0,
        created_at=now,
        updated_at=now,
    )


def _update_lead(lead: Lead, data: LeadIn) -> None:
    """The backend's data is the truth: a running chase's next email uses it."""
    lead.title, lead.name, lead.email = data.title, data.name, data.email
    lead.responsible_manager_id = data.responsible_manager_id
    if data.language is not None:
        lead.language = data.language
