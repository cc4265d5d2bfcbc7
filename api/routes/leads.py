"""Leads: the backend reports status changes and replies; `lead-<id>` chases a Chasing lead."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from api.deps import BackendDep, ClockDep, SessionDep, SettingsDep, TemporalDep
from api.errors import Conflict, Invalid, NotFound, responses
from api.pagination import PagerDep
from api.schemas.common import ID_PATTERN, HistoryLine, can_be_id
from api.schemas.leads import LeadEventAccepted, LeadEventIn, LeadIn, LeadOut
from api.temporal import answering, query_workflow, signal_best_effort
from api.timeline import timeline
from db.history import record
from db.models import HistoryEntry, Lead, LeadEvent, Manager
from domain import LEAD_CHASING, LeadStopReason, lead_workflow_id
from settings import Settings
from workflows.lead_chase import LeadChase, LeadChaseInput, StopChase
from workflows.search_attributes import ASSIGNEE_ID

router = APIRouter(prefix="/v1/leads", tags=["leads"])

LeadId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]


@router.post("/{lead_id}/events", status_code=202, responses=responses(404, 409))
async def post_lead_event(
    lead_id: LeadId,
    body: LeadEventIn,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    clock: ClockDep,
    _: BackendDep,
) -> LeadEventAccepted:
    """Status changed or the lead replied: Chasing starts a chase, anything else stops it."""
    seen = await session.get(LeadEvent, body.event_id)
    if seen is not None:
        return await _duplicate(session, temporal, settings, seen, lead_id)
    if body.lead is not None:
        manager_id = body.lead.responsible_manager_id
        if await session.get(Manager, manager_id) is None:
            raise Invalid(f"responsible manager {manager_id!r} does not exist")
    now = await clock()
    # Locked on PostgreSQL: two events of one lead at once must not both start a chase.
    lead = await session.get(Lead, lead_id, with_for_update=True)
    if lead is None:
        if body.lead is None:
            raise NotFound("lead", lead_id)
        lead = _new_lead(lead_id, body.lead, settings, now)
        session.add(lead)
    elif body.lead is not None:
        _update_lead(lead, body.lead)

    was_chasing = chase_on(lead)
    to_chasing = body.type == "status_changed" and body.status == LEAD_CHASING
    if body.type == "status_changed":
        assert body.status is not None  # the schema demands it
        lead.status = body.status
    lead.updated_at = now
    start = to_chasing and not was_chasing
    stop = was_chasing and not to_chasing
    if start:
        lead.chase_number += 1
        lead.chase_round = lead.emails_sent = 0
        lead.next_email_due = lead.stopped_reason = None
    elif stop:
        lead.stopped_reason = "replied" if body.type == "replied" else "status_changed"
        lead.next_email_due = None
    try:
        await session.flush()  # the lead row first: the event and its timeline line refer to it
        session.add(
            LeadEvent(
                event_id=body.event_id,
                lead_id=lead_id,
                type=body.type,
                status=body.status,
                received_at=now,
            )
        )
        record(
            session,
            lead_id=lead_id,
            at=now,
            actor="backend",
            kind="event",
            event_id=body.event_id,
            type=body.type,
            status=body.status,
        )
        if start:
            record(
                session,
                lead_id=lead_id,
                at=now,
                actor="backend",
                kind="chase_started",
                chase_number=lead.chase_number,
            )
        await session.commit()
    except IntegrityError as error:
        # The same event, or a first event of the same new lead, posted twice at once.
        await session.rollback()
        seen = await session.get(LeadEvent, body.event_id)
        if seen is not None:
            return await _duplicate(session, temporal, settings, seen, lead_id)
        raise Conflict(f"lead {lead_id!r} changed meanwhile: post the event again") from error

    # Temporal hears of it after the commit: the chase's activities read the lead from the
    # database, which stays the authority on whether a chase is on.
    if start:
        # No chase is on, as the record says: a run still there is a stopped one finishing
        # its last write (a reply, then Chasing again at once), so it makes way.
        await start_lead_chase(
            temporal, settings, lead, WorkflowIDConflictPolicy.TERMINATE_EXISTING
        )
    elif stop:
        assert lead.stopped_reason is not None
        await stop_lead_chase(temporal, lead_id, StopChase(body.event_id, lead.stopped_reason))
    return LeadEventAccepted(event_id=body.event_id, duplicate=False)


@router.get("/{lead_id}", responses=responses(404))
async def get_lead(
    lead_id: str, session: SessionDep, temporal: TemporalDep, _: BackendDep
) -> LeadOut:
    """The lead and its chase: round, emails sent, next email due, and why it stopped."""
    lead = await _get_lead(session, lead_id)
    out = _lead_out(lead)
    if out.chasing:
        # No worker to answer right now: the stored state still stands.
        state = await query_workflow(temporal, lead_workflow_id(lead_id), LeadChase.state)
        if state is not None and state.chase_number == lead.chase_number:
            out.round, out.emails_sent = state.round, state.emails_sent
            out.next_email_due = state.next_email_due
    return out


@router.get("/{lead_id}/history", responses=responses(404))
async def get_lead_history(
    lead_id: str, session: SessionDep, _: BackendDep, pager: PagerDep
) -> list[HistoryLine]:
    """The lead's timeline: events, chases started and stopped, emails and notifications."""
    await _get_lead(session, lead_id)
    return await timeline(session, HistoryEntry.lead_id == lead_id, pager)


async def _get_lead(session: AsyncSession, lead_id: str) -> Lead:
    lead = await session.get(Lead, lead_id) if can_be_id(lead_id) else None
    if lead is None:
        raise NotFound("lead", lead_id)
    return lead


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
) -> LeadEventAccepted:
    if seen.lead_id != lead_id:
        raise Conflict(f"event {seen.event_id!r} was already used for another lead")
    lead = await session.get(Lead, lead_id)
    # The backend retries when a start failed after the commit: the record says a chase is
    # on, but it has not taken a step. Start it now; a running one is left as it is.
    if lead is not None and chase_on(lead) and lead.chase_round == 0:
        await start_lead_chase(temporal, settings, lead, WorkflowIDConflictPolicy.USE_EXISTING)
    return LeadEventAccepted(event_id=seen.event_id, duplicate=True)


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


def _lead_out(lead: Lead) -> LeadOut:
    return LeadOut(
        id=lead.id,
        title=lead.title,
        name=lead.name,
        email=lead.email,
        responsible_manager_id=lead.responsible_manager_id,
        language=lead.language,
        status=lead.status,
        chasing=chase_on(lead),
        chase_number=lead.chase_number,
        round=lead.chase_round,
        emails_sent=lead.emails_sent,
        next_email_due=lead.next_email_due,
        stopped_reason=LeadStopReason(lead.stopped_reason) if lead.stopped_reason else None,
        created_at=lead.created_at,
        updated_at=lead.updated_at,
    )
