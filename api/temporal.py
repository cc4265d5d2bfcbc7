"""Starting, signalling and querying workflows from the API: one timeout, one policy.

Temporal or a worker that does not answer within CALL_TIMEOUT is a 503 with Retry-After
(api.errors.Unavailable), never a request that hangs; a workflow that has ended is reported
to the caller to judge (a conflict, a fallback), never a server error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import Unavailable

T = TypeVar("T")

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


async def query_workflow(temporal: Client, workflow_id: str, handler: Any) -> Any | None:
    """A workflow's query answer, or None when it has ended or no worker answered in time:
    the caller falls back to what the database says."""
    handle: WorkflowHandle[Any, Any] = temporal.get_workflow_handle(workflow_id)
    try:
        async with answering(f"query of {workflow_id}"):
            return await handle.query(handler)
    except (RPCError, WorkflowQueryFailedError, Unavailable):
        return None
