"""Skipping time on Temporal's time-skipping test server."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from temporalio.api.testservice.v1 import (
    LockTimeSkippingRequest,
    SleepRequest,
    UnlockTimeSkippingRequest,
)
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

# `env.sleep` is one RPC under the SDK's default call timeout, which cut long skips off
# ("Timeout expired") on a loaded machine: skipping days fires every timer due meanwhile, and
# each waits for the worker to handle it.
SKIP_TIMEOUT = timedelta(minutes=5)
# How far free_the_clock skips to learn whether something holds the clock.
STRAY_PROBE = timedelta(minutes=1)


async def skip(
    env: WorkflowEnvironment, duration: timedelta, timeout: timedelta = SKIP_TIMEOUT
) -> None:
    """`env.sleep(duration)`, with time enough to get through what falls due."""
    request = SleepRequest()
    request.duration.FromTimedelta(duration)
    await env.client.test_service.unlock_time_skipping_with_sleep(request, timeout=timeout)


async def result(env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any]) -> Any:
    """`handle.result()`, the clock skipping to each timer meanwhile, as it does for a handle
    that `start_workflow` returned; one from `get_workflow_handle` would wait in real time."""
    await env.client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
    try:
        return await handle.result()
    finally:
        await env.client.test_service.lock_time_skipping(LockTimeSkippingRequest())


async def free_the_clock(env: WorkflowEnvironment) -> None:
    """Make sure the clock skips again once a test's workflows are ended.

    The Java test server holds its clock while a task is out; a task handed to a worker as it
    stopped, whose workflow is then terminated, is never given back, and every later skip of the
    session waits in real time (the suite hung there). With nothing running, a minute's skip
    ends at once; if it has not ended after a few seconds and the server's clock moved by those
    seconds rather than by the minute, the one stray hold is released. (A slow machine only
    delays the answer: the clock has moved by the minute then, and releasing a hold nobody took
    would let time skip in a later test's real-time steps.)
    """
    before = await env.get_current_time()
    try:
        await skip(env, STRAY_PROBE, timeout=timedelta(seconds=2))
        return
    except RPCError:
        pass
    if await env.get_current_time() - before >= STRAY_PROBE:
        return
    logging.getLogger(__name__).warning("the time-skipping clock was held with nothing running")
    await env.client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
