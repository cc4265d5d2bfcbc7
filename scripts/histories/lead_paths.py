"""The lead chase (SPEC §2, workflows/lead_chase.py)."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from scripts.histories.recording import Recording
from scripts.histories.registry import Drive, recorded


@recorded(
    "lead-no-response",
    "LeadChase",
    "six follow-ups, two a round every 3 business days, each with the manager's notice; no "
    "answer: ends as no_response",
)
async def lead_no_response(rec: Recording) -> WorkflowHandle[Any, Any]:
    return await rec.start_lead_chase("no-response")  # the result skips every wait


def _stopped(lead_id: str, follow_ups: int, **event: str) -> Drive:
    """The lead's chase, stopped by `event` once `follow_ups` have gone out."""

    async def drive(rec: Recording) -> WorkflowHandle[Any, Any]:
        handle = await rec.start_lead_chase(lead_id)
        await rec.follow_ups(lead_id, follow_ups)
        await rec.stop_lead(lead_id, "crm-2", **event)
        return handle

    return drive


recorded(
    "lead-replied",
    "LeadChase",
    "the lead replies after the second follow-up: stopped at once (replied), nothing more sent",
)(_stopped("replied", 2, type="replied"))
recorded(
    "lead-status-changed",
    "LeadChase",
    "the lead's status changes from Chasing to won after the first follow-up: stopped "
    "(status_changed)",
)(_stopped("status-changed", 1, type="status_changed", status="won"))
recorded(
    "lead-search-attributes",
    "LeadChase",
    "search attributes: LeadStatus chasing from the start, replied once the lead answers "
    "after the first follow-up",
)(_stopped("searchable", 1, type="replied"))
