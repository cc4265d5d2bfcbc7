"""Workflow histories as JSON files: the format of `temporal workflow show --output json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHistory


def history_from_file(path: Path) -> WorkflowHistory:
    """Load a saved history; its workflow id comes from the start event, else the file name."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return WorkflowHistory.from_json(workflow_id_of(data) or path.stem, data)


def workflow_id_of(data: dict[str, Any]) -> str | None:
    """The workflow id a server of 1.21 or later writes into the start event."""
    events = data.get("events") or [{}]
    started = events[0].get("workflowExecutionStartedEventAttributes") or {}
    workflow_id = started.get("workflowId")
    return workflow_id if isinstance(workflow_id, str) and workflow_id else None


def workflow_type_of(history: WorkflowHistory) -> str:
    if not history.events:
        return "?"
    return history.events[0].workflow_execution_started_event_attributes.workflow_type.name or "?"


def history_to_json(history: WorkflowHistory) -> str:
    """The JSON to save, with the workflow id kept in the start event so a replay can find it."""
    data = history.to_json_dict()
    events = data.get("events") or []
    if events:
        started = events[0].setdefault("workflowExecutionStartedEventAttributes", {})
        started.setdefault("workflowId", history.workflow_id)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


async def fetch_history(
    client: Client, workflow_id: str, run_id: str | None = None
) -> WorkflowHistory:
    """The full history of a running or closed workflow (the latest run unless `run_id`)."""
    return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()


async def export_history(
    client: Client, workflow_id: str, run_id: str | None = None
) -> tuple[WorkflowHistory, str]:
    history = await fetch_history(client, workflow_id, run_id)
    return history, history_to_json(history)
