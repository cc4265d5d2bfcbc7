"""One logging configuration for the API, the worker and the CLI: `LOG_FORMAT=json` (a JSON
object per line, for log collectors) or `console` (readable, coloured on a terminal).

Every line from a workflow or an activity carries its Temporal context as fields —
workflow_id, run_id, workflow_type, activity_type, attempt, and order_id or lead_id read from
the workflow id — and API lines carry the request's request_id (api/request_log.py). Customer
email addresses and bearer tokens are masked in every line above DEBUG."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Literal, TextIO

import structlog
from temporalio import activity, workflow

LogFormat = Literal["json", "console"]

# An order chase is `order-<id>` (its dial children `order-<id>-dial-<n>`), a lead's `lead-<id>`.
_WORKFLOW_ID = re.compile(r"^(?P<kind>order|lead)-(?P<id>.+?)(?:-dial-\d+)?$")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[\w.~+/=-]+")
_TEMPORAL_FIELDS = {
    "workflow_id": "workflow_id",
    "run_id": "run_id",
    "workflow_run_id": "run_id",
    "workflow_type": "workflow_type",
    "activity_type": "activity_type",
    "attempt": "attempt",
}


def configure_logging(
    format: LogFormat = "console", level: int | str = logging.INFO, stream: TextIO | None = None
) -> logging.Handler:
    """Route the standard library's logging (ours, uvicorn's, the Temporal SDK's) through
    structlog's renderer on one handler of the root logger; returns that handler."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),  # `extra={...}` of a logging call become fields
        _temporal_context,
        _mask_secrets,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if format == "json"
        else structlog.dev.ConsoleRenderer(colors=(stream or sys.stderr).isatty())
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn configures its own handlers before it builds the app: send its lines here too;
    # its access line gives way to ours (api/request_log.py), which has the request id.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # The Temporal context goes into fields, not appended to each message as a dict.
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False
    return handler


def _temporal_context(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Lift the Temporal SDK's `temporal_workflow` / `temporal_activity` extras into fields."""
    event.pop("color_message", None)  # uvicorn's coloured copy of the message
    for name in ("temporal_workflow", "temporal_activity"):
        for key, value in (event.pop(name, None) or {}).items():
            if key in _TEMPORAL_FIELDS:
                event[_TEMPORAL_FIELDS[key]] = value
    owner = _WORKFLOW_ID.match(str(event.get("workflow_id", "")))
    if owner:
        event[f"{owner['kind']}_id"] = owner["id"]
    return event


def _mask_secrets(_: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """No customer email address or bearer token in a line above DEBUG."""
    if method == "debug":
        return event
    for key, value in event.items():
        if isinstance(value, str) and key not in ("_record", "_from_structlog"):
            event[key] = _BEARER.sub(r"\1***", _EMAIL.sub("***@***", value))
    return event
