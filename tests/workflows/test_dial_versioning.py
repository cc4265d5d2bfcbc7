"""Changing the dial while dials run (README: "Changing a process while chases run"), for the
patch `dial-working-hours`: a dial that started on the code from before it (a verbatim copy in
tests/histories/deployed/dial_before_dial_working_hours.py) keeps calling by the clock after
the deploy; one started after it keeps to the assignee's hours. Its frozen histories replay
in tests/test_replay_corpus.py."""

from __future__ import annotations

import asyncio
from datetime import time, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from db.session import Sessions
from scripts.devstack.servers import serve_api
from scripts.devstack.walk import Walk, when
from settings import Settings
from tests.conftest import terminate_chases
from tests.histories.deployed import dial_before_dial_working_hours as old
from tests.workflows.test_calling_hours import MOSCOW, OFFICE, taken_on_friday_evening
from tests.workflows.test_versioning import markers
from worker import WorkerDeps, build_worker
from workflows.dial import Dial
from workflows.patch_ids import DIAL_WORKING_HOURS


def dial_worker(env: WorkflowEnvironment, deps: WorkerDeps, task_queue: str, dial: type) -> Worker:
    """Today's worker with the dial swapped for `dial` (the copy from before the change)."""
    config = build_worker(env.client, deps, f"{task_queue}-template").config()
    config["task_queue"] = task_queue
    # No sticky queue: the time-skipping server never hands a dead worker's tasks on.
    config["max_cached_workflows"] = 0
    config["workflows"] = [dial if cls is Dial else cls for cls in config["workflows"]]
    return Worker(**config)


async def open_call(walk: Walk, order_id: str) -> dict[str, Any]:
    for _ in range(400):
        calls = await walk.tasks("olga", order_id, kind="call", status="open")
        if calls:
            return calls[0]
        await asyncio.sleep(0.025)
    raise AssertionError(f"no open call task for {order_id}")


async def dial_history(env: WorkflowEnvironment, order_id: str) -> WorkflowHistory:
    return await env.client.get_workflow_handle(f"order-{order_id}/dial-1").fetch_history()


@pytest.mark.parametrize("started_on", ["old", "new"])
async def test_a_dial_keeps_the_path_it_started_on(
    started_on: str,
    ts_env: WorkflowEnvironment,
    deps: WorkerDeps,
    settings: Settings,
    sessions: Sessions,
) -> None:
    app = create_app(settings, temporal=ts_env.client, clock=ts_env.get_current_time)
    try:
        async with serve_api(app) as api:
            walk = Walk(api, ts_env, settings)
            await walk_the_dial(walk, started_on, deps, settings.temporal_task_queue)
    finally:
        # Nothing left waiting for a worker: it would hold the shared server's clock.
        await terminate_chases(ts_env.client, sessions)


async def walk_the_dial(walk: Walk, started_on: str, deps: WorkerDeps, queue: str) -> None:
    env, order_id = walk.env, f"DV-{started_on}"
    await walk.manager("olga", timezone="Europe/Moscow", working_hours=OFFICE)
    async with dial_worker(env, deps, queue, old.Dial if started_on == "old" else Dial):
        friday = await taken_on_friday_evening(walk, order_id, "olga")
        if started_on == "old":
            first = await open_call(walk, order_id)  # by the clock: at once, Friday 19:30
            assert when(first).astimezone(MOSCOW).time() < time(19, 31)
        else:
            await asyncio.sleep(0.5)  # the dial asks for Olga's calendar, then sleeps
            assert await walk.tasks("olga", order_id, kind="call") == []

    # The deploy: today's worker picks the dial up where it waits.
    async with build_worker(env.client, deps, queue):
        if started_on == "old":
            await walk.answered("olga", first, "no_answer")
            await walk.skip(minutes=30)
            second = await open_call(walk, order_id)
            # Still by the clock: 20:00 on Friday, after Olga's hours.
            assert when(second) - when(first) < timedelta(minutes=31)
            assert DIAL_WORKING_HOURS not in markers(await dial_history(env, order_id))
        else:
            await walk.skip_to(friday + timedelta(days=2, hours=13, minutes=32))
            call = await open_call(walk, order_id)
            assert when(call).astimezone(MOSCOW).strftime("%a %H:%M") == "Mon 09:00"
            assert DIAL_WORKING_HOURS in markers(await dial_history(env, order_id))
        await walk.event(order_id, "pay-1", "paid")
        await walk.status(order_id, "paid")
        # The chase ends on this worker (the thank-you is still going): stopped mid-activity,
        # it would hold the shared time-skipping server's clock for the next test.
        await env.client.get_workflow_handle(f"order-{order_id}").result()
