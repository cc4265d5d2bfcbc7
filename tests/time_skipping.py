"""Skipping time on Temporal's time-skipping test server."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.testservice.v1 import SleepRequest
from temporalio.testing import WorkflowEnvironment

# `env.sleep` is one RPC under the SDK's default call timeout, which cut long skips off
# ("Timeout expired") on a loaded machine: skipping days fires every timer due meanwhile, and
# each waits for the worker to handle it.
SKIP_TIMEOUT = timedelta(minutes=5)


async def skip(env: WorkflowEnvironment, duration: timedelta) -> None:
    """`env.sleep(duration)`, with time enough to get through what falls due."""
    request = SleepRequest()
    request.duration.FromTimedelta(duration)
    await env.client.test_service.unlock_time_skipping_with_sleep(request, timeout=SKIP_TIMEOUT)
