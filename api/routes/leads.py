"""Leads: the backend reports status changes and replies; `lead-<id>` chases a Chasing lead."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import BackendDep, ContextDep, SessionDep
from api.errors import responses
from api.lookup import get_or_404
from api.schemas.common import ID_PATTERN, from_row
from api.schemas.leads import LeadEventAccepted, LeadEventIn, LeadOut
from api.services import leads
from api.timeline import add_history_route
from db.models import Lead

router = APIRouter(prefix="/v1/leads", tags=["leads"])

LeadId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]


@router.post("/{lead_id}/events", status_code=202, responses=responses(404, 409))
async def post_lead_event(
    lead_id: LeadId, body: LeadEventIn, ctx: ContextDep, _: BackendDep
) -> LeadEventAccepted:
    """Status changed or the lead replied: Chasing starts a chase, anything else stops it."""
    duplicate = await leads.apply_event(ctx, lead_id, body)
    return LeadEventAccepted(event_id=body.event_id, duplicate=duplicate)


@router.get("/{lead_id}", responses=responses(404))
async def get_lead(lead_id: str, session: SessionDep, _: BackendDep) -> LeadOut:
    """The lead and its chase: round, emails sent, next email due, and why it stopped. The
    chase stores its progress before every wait and at its end (save_chase_state): the row
    is the one account of it."""
    return _lead_out(await get_or_404(session, Lead, "lead", lead_id))


add_history_route(
    router,
    Lead,
    "The lead's timeline: events, chases started and stopped, emails and notifications.",
)


def _lead_out(lead: Lead) -> LeadOut:
    return from_row(LeadOut, lead, chasing=leads.chase_on(lead), round=lead.chase_round)
