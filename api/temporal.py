"""Starting, signalling and querying workflows from the API: one timeout, one policy.

Temporal or a worker that does not answer within CALL_TIMEOUT is a 503 with Retry-After
(api.errors.Unavailable), never a request that hangs; a workflow that has ended is reported
to the caller to judge (a conflict, a fallback), never a server error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import Unavailable

logger = logging.getLogger(__name__)

# The SDK retries an unreachable server for about ten seconds; a request waits this long.
CALL_TIMEOUT = 3.0


@asynccontextmanager
async def answering(what: str) -> AsyncIterator[None]:
    """Bound a call to Temporal in time; a timeout or an unreachable server is a 503."""
    try:
        async with asyncio.timeout(CALL_TIMEOUT):
            yield
    except TimeoutError as error:
        raise Unavailable(f"{what}: Temporal did not answer in time") from error
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise
        raise Unavailable(f"{what}: Temporal is unavailable ({error.status.name})") from error


async def signal_workflow(temporal: Client, workflow_id: str, handler: Any, arg: Any) -> bool:
    """Signal a workflow; False when it has ended (or never started)."""
    handle: WorkflowHandle[Any, Any] = temporal.get_workflow_handle(workflow_id)
    try:
        async with answering(f"signal to {workflow_id}"):
            await handle.signal(handler, arg)
    except RPCError as error:  # only NOT_FOUND gets here
        assert error.status == RPCStatusCode.NOT_FOUND
        return False
    return True


async def signal_best_effort(temporal: Client, workflow_id: str, handler: Any, arg: Any) -> None:
    """Signal what is stored already: a workflow that has ended has nothing to hear, and one
    that Temporal cannot reach now reads the stored record at its next step. Never raises."""
    try:
        heard = await signal_workflow(temporal, workflow_id, handler, arg)
    except Unavailable as error:
        logger.warning("%s not signalled to %s, the record stands: %s", arg, workflow_id, error)
        return
    if not heard:
        logger.info("%s not signalled: %s has ended", arg, workflow_id)


async def query_workflow(temporal: Client, workflow_id: str, handler: Any) -> Any | None:
    """A workflow's query answer, or None when it has ended or no worker answered in time:
    the caller falls back to what the database says."""
    handle: WorkflowHandle[Any, Any] = temporal.get_workflow_handle(workflow_id)
    try:
        async with answering(f"query of {workflow_id}"):
            return await handle.query(handler)
    except (RPCError, WorkflowQueryFailedError, Unavailable):
        return None
