"""Changing the order chase while chases run: each `workflow.patched(ID)` in
workflows/order_chase.py is proven three ways (README: "Changing a process while chases run").

1. Histories recorded before the change (tests/histories/frozen/*.before-ID.json) replay.
2. A chase started on the code as it was before the change (a verbatim copy kept in
   tests/workflows/versions/order_chase_before_<id>.py), then carried on by today's worker,
   finishes on the old path: no marker for ID, none of the new path's steps.
3. A chase started on today's code takes the new path: the marker and the new step.

The tests run for every live patch the order chase has; with none they are skipped.
"""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.converter import default as default_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from cli.history import history_from_file
from cli.replay import failure_message, make_replayer
from db.models import Order, Task
from db.session import Sessions
from settings import Settings
from tests.factories import make_order, start_order_chase
from tests.mailbox import SmtpServer
from tests.patches import workflow_patches
from worker import WorkerDeps, build_worker
from workflows.order_chase import OrderChase, OrderChaseResult, PaymentReceived

ROOT = Path(__file__).resolve().parent.parent.parent
FROZEN = ROOT / "tests" / "histories" / "frozen"
LIVE_PATCHES = sorted(
    p for p, stage in workflow_patches("order_chase").items() if stage == "patched"
)

# What each patch's new path does that the old one never did: an activity it schedules, or
# (when the activity is an old one too) the kind of the task it opens.
NEW_PATH_ACTIVITY = {
    "sms-payment-link": "send_payment_sms",
}
NEW_PATH_TASK = {
    "email-bounce-task": "email_bounced",
}
# Patches whose change is met only when the customer's address bounces: the walk's order has
# an address the real SMTP server refuses.
MET_ON_BOUNCE = {"email-bounce-task"}

pytestmark = pytest.mark.parametrize(
    "patch",
    LIVE_PATCHES
    or [pytest.param(None, marks=pytest.mark.skip(reason="the order chase has no live patch"))],
)


async def took_new_path(patch: str, history: WorkflowHistory, sessions: Sessions) -> bool:
    """Whether the chase did what only `patch`'s new path does."""
    if patch in NEW_PATH_ACTIVITY:
        return NEW_PATH_ACTIVITY[patch] in activities(history)
    if patch in NEW_PATH_TASK:
        async with sessions() as session:
            kinds = await session.scalars(
                select(Task.kind).where(Task.workflow_id == history.workflow_id)
            )
            return NEW_PATH_TASK[patch] in set(kinds)
    pytest.fail(f"name what only {patch!r}'s new path does in NEW_PATH_ACTIVITY or NEW_PATH_TASK")


@pytest.fixture
def walked_order(
    patch: str, sessions: Sessions, smtp_server: SmtpServer
) -> Iterator[Callable[[], Awaitable[Order]]]:
    """The order a versioning walk chases; for a change met on a bounce, one that bounces."""
    address = f"bounce-{uuid.uuid4().hex[:8]}@example.com"

    async def make() -> Order:
        if patch in MET_ON_BOUNCE:
            smtp_server.refuse.add(address)
            return await make_order(sessions, customer_email=address)
        return await make_order(sessions)

    yield make
    smtp_server.refuse.discard(address)


def before_the_change(patch: str) -> ModuleType:
    """The order chase module exactly as it was deployed before `patch`."""
    name = f"tests.workflows.versions.order_chase_before_{patch.replace('-', '_')}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        pytest.fail(
            f"keep the code from before {patch!r}: "
            f"cp workflows/order_chase.py {name.replace('.', '/')}.py (taken before the edit)",
            pytrace=False,
        )


def markers(history: WorkflowHistory) -> list[str]:
    """The patch ids recorded in a history: core writes one `core_patch` marker per patch."""
    found = []
    for event in history.events:
        attributes = event.marker_recorded_event_attributes
        if attributes.marker_name == "core_patch" and "patch-data" in attributes.details:
            payloads = attributes.details["patch-data"].payloads
            found.append(default_converter().payload_converter.from_payloads(payloads)[0]["id"])
    return found


def activities(history: WorkflowHistory) -> list[str]:
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def walk_past_the_change(
    env: WorkflowEnvironment,
    handle: WorkflowHandle[OrderChase, OrderChaseResult],
    settings: Settings,
) -> OrderChaseResult:
    """Past the grace delay, where the change is made, then paid: the shortest whole chase.

    A chase that fails to replay retries its task for ever: it is ended here so that it does
    not hold the shared time-skipping server's clock (time stands still while a task waits).
    """
    try:
        # A query replays the history so far on today's worker: a mismatch fails here, at once.
        await handle.query(OrderChase.state)
        await env.sleep(timedelta(seconds=settings.order_timings().grace) + timedelta(minutes=1))
        await handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=True))
        return await handle.result(rpc_timeout=timedelta(seconds=20))
    except BaseException:
        await handle.terminate("the versioning test failed")
        raise


async def grace_timer_started(
    handle: WorkflowHandle[OrderChase, OrderChaseResult], grace: float
) -> None:
    """Wait (in real time; server time stands still) until the chase sits in its grace delay."""
    for _ in range(200):
        history = await handle.fetch_history()
        if any(
            event.event_type == EventType.EVENT_TYPE_TIMER_STARTED
            and event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
            == timedelta(seconds=grace)
            for event in history.events
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} never started its grace timer")


def old_worker(
    env: WorkflowEnvironment, deps: WorkerDeps, task_queue: str, old: ModuleType
) -> Worker:
    """Today's worker with the order chase swapped for the copy from before the change."""
    # Built on a queue of its own only to read its configuration: core refuses two workers
    # on one queue, and build_worker stays the one list of workflows and activities.
    config = build_worker(env.client, deps, f"{task_queue}-template").config()
    config["task_queue"] = task_queue
    # No sticky queue: a real server hands a dead worker's sticky tasks to the shared queue
    # after a timeout, which the time-skipping server never lets pass.
    config["max_cached_workflows"] = 0
    config["workflows"] = [
        old.OrderChase if cls is OrderChase else cls for cls in config["workflows"]
    ]
    return Worker(**config)


@pytest.fixture(scope="module")
def replayer() -> Replayer:
    return make_replayer()


def frozen_for(patch: str) -> Iterable[Path]:
    files = sorted(FROZEN.glob(f"*.before-{patch}.json"))
    assert files, (
        f"no history recorded before {patch!r}: run "
        f"`.venv/bin/python -m scripts.record_histories --freeze {patch}` before the edit"
    )
    return files


async def test_histories_recorded_before_the_change_still_replay(
    patch: str, replayer: Replayer
) -> None:
    for file in frozen_for(patch):
        history = history_from_file(file)
        assert patch not in markers(history)
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, (
            f"{file.name}: {failure_message(result.replay_failure)}"
        )


async def test_a_chase_started_before_the_change_finishes_on_the_old_path(
    patch: str,
    ts_env: WorkflowEnvironment,
    deps: WorkerDeps,
    sessions: Sessions,
    settings: Settings,
    walked_order: Callable[[], Awaitable[Order]],
) -> None:
    order = await walked_order()
    queue = settings.temporal_task_queue
    async with old_worker(ts_env, deps, queue, before_the_change(patch)):
        handle = await start_order_chase(ts_env.client, settings, order)
        await grace_timer_started(handle, settings.order_timings().grace)

    # The deploy: the old worker is gone, today's code picks the chase up where it waits.
    async with build_worker(ts_env.client, deps, queue):
        result = await walk_past_the_change(ts_env, handle, settings)

    assert result == OrderChaseResult("paid", "positive", "paid")
    history = await handle.fetch_history()
    assert patch not in markers(history)
    assert not await took_new_path(patch, history, sessions)


async def test_a_chase_started_after_the_change_takes_the_new_path(
    patch: str,
    ts_env: WorkflowEnvironment,
    ts_worker: Worker,
    sessions: Sessions,
    settings: Settings,
    walked_order: Callable[[], Awaitable[Order]],
) -> None:
    order = await walked_order()
    handle = await start_order_chase(ts_env.client, settings, order)

    assert await walk_past_the_change(ts_env, handle, settings) == OrderChaseResult(
        "paid", "positive", "paid"
    )
    history = await handle.fetch_history()
    assert patch in markers(history)
    assert await took_new_path(patch, history, sessions)
