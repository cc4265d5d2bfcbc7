"""The ways a workflow runs an activity, each with its policy from activity_policy.py.

`db_activity`: a short database step (a write, or the read a decision needs), retried through
a restart or a long lock, then failing loudly; `local_db_activity` runs the same on this
worker, inside the workflow task that calls it. `email_activity`: an email, retried as long as
the mail server is down; `local_email_activity` the same inside the workflow task. Each
schedules the same command as the call written out in full.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.tasks import NewTask, TaskActivities

from workflows.activity_policy import (
    ACTIVITY_TIMEOUT,
    EMAIL_RETRY,
    LOCAL_RETRY_THRESHOLD,
    WRITE_RETRY,
)

Arg = TypeVar("Arg")
Result = TypeVar("Result")


async def db_activity(activity: Callable[[Any, Arg], Awaitable[Result]], arg: Arg) -> Result:
    return await workflow.execute_activity_method(
        activity, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=WRITE_RETRY
    )


async def local_db_activity(activity: Callable[[Any, Arg], Awaitable[Result]], arg: Arg) -> Result:
    """A database step the next step waits for: no round through the task queue, no second
    workflow task before that next step is scheduled. Its history holds a marker instead of
    the activity's events."""
    return await workflow.execute_local_activity_method(
        activity, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=WRITE_RETRY
    )


async def email_activity(activity: Callable[[Any, Arg], Awaitable[Result]], arg: Arg) -> Result:
    return await workflow.execute_activity_method(
        activity, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=EMAIL_RETRY
    )


async def local_email_activity(
    activity: Callable[[Any, Arg], Awaitable[Result]], arg: Arg
) -> Result:
    """An email the customer waits for, sent by this worker in the task that decided it. A
    retry (the mail server down) waits on a workflow timer, not inside a held-open task."""
    return await workflow.execute_local_activity_method(
        activity,
        arg,
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        retry_policy=EMAIL_RETRY,
        local_retry_threshold=LOCAL_RETRY_THRESHOLD,
    )


async def open_task(
    key: str,
    kind: str,
    question: tuple[str, tuple[str, ...]],
    order_id: str | None,
    assignee_id: str | None,
    *,
    call: tuple[int, int] = (0, 0),
    numbers: tuple[int, int] | None = None,
    subscription_id: str | None = None,
) -> int:
    """Open a manager's task whose answer this workflow waits for. `question`: its title and
    allowed answers; `call`: a call's day and number; `numbers`: a number question's bounds."""
    title, options = question
    return await db_activity(
        TaskActivities.open_task,
        NewTask(
            key=key,
            order_id=order_id,
            workflow_id=workflow.info().workflow_id,
            kind=kind,
            title=title,
            options=list(options),
            assignee_id=assignee_id,
            at=workflow.now(),
            day=call[0],
            call=call[1],
            number_min=numbers[0] if numbers else None,
            number_max=numbers[1] if numbers else None,
            subscription_id=subscription_id,
        ),
    )
