"""Waits shared by the workflows: how long until a moment, and a bounded wait for a condition.

Workflow code: time is workflow.now(), waiting is workflow.wait_condition (one timer).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from temporalio import workflow


def seconds_until(moment: datetime) -> float:
    """Seconds of workflow time until `moment`; zero once it has passed."""
    return max((moment - workflow.now()).total_seconds(), 0.0)


async def wait_at_most(condition: Callable[[], bool], seconds: float) -> None:
    """Wait for `condition` at most `seconds`, paused or not; no timer when it holds already
    or no time is left."""
    if seconds <= 0 or condition():
        return
    try:
        await workflow.wait_condition(condition, timeout=seconds)
    except TimeoutError:
        pass
