"""The lead chase (SPEC §2, workflows/lead_chase.py)."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from scripts.histories.recording import Recording
from scripts.histories.registry import recorded


@recorded(
    "lead-no-response",
    "LeadChase",
    "six follow-ups, two a round every 3 business days, each with the manager's notice; no "
    "answer: ends as no_response",
)
async def lead_no_response(rec: Recording) -> WorkflowHandle[Any, Any]:
    return await rec.start_lead_chase("no-response")  # the result skips every wait


@recorded(
    "lead-replied",
    "LeadChase",
    "the lead replies after the second follow-up: stopped at once (replied), nothing more sent",
)
async def lead_replied(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_lead_chase("replied")
    await rec.follow_ups("replied", 2)
    await rec.stop_lead("replied", "crm-2", type="replied")
    return handle


@recorded(
    "lead-status-changed",
    "LeadChase",
    "the lead's status changes from Chasing to won after the first follow-up: stopped "
    "(status_changed)",
)
async def lead_status_changed(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_lead_chase("status-changed")
    await rec.follow_ups("status-changed", 1)
    await rec.stop_lead("status-changed", "crm-2", type="status_changed", status="won")
    return handle


@recorded(
    "lead-search-attributes",
    "LeadChase",
    "search attributes: LeadStatus chasing from the start, replied once the lead answers "
    "after the first follow-up",
)
async def lead_search_attributes(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_lead_chase("searchable")
    await rec.follow_ups("searchable", 1)
    await rec.stop_lead("searchable", "crm-2", type="replied")
    return handle
