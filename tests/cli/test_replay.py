"""`chaser replay`: saved files, and the dry run against chases running on a real server."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from db.session import Sessions
from settings import Settings
from tests.cli.helpers import address, chaser, visible
from tests.cli.old_order_chase import OrderChaseBeforeAnIncompatibleEdit
from tests.factories import make_order, start_order_chase
from workflows.messages import OrderCancelled, OrderChaseInput, PaymentReceived
from workflows.order_chase import OrderChase


def running_in(task_queue: str) -> str:
    return f"WorkflowType='OrderChase' AND ExecutionStatus='Running' AND TaskQueue='{task_queue}'"


async def test_saved_histories_replay_and_a_broken_one_is_named_with_its_mismatch(
    dev_env: WorkflowEnvironment,
    dev_worker: Worker,
    sessions: Sessions,
    settings: Settings,
    tmp_path: Path,
) -> None:
    order = await make_order(sessions)
    handle = await start_order_chase(dev_env.client, settings, order)
    await handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=True))
    assert (await handle.result()).status == "paid"
    good = tmp_path / "paid.json"
    exported = await chaser(
        "history", "export", "--workflow-id", handle.id, "-o", str(good),
        "--address", address(dev_env),
    )  # fmt: skip
    assert exported.status == 0, exported.err

    broken = tmp_path / "edited.json"
    history = json.loads(good.read_text())
    scheduled = next(e for e in history["events"] if "activityTaskScheduledEventAttributes" in e)
    scheduled["activityTaskScheduledEventAttributes"]["activityType"]["name"] = "send_sms"
    broken.write_text(json.dumps(history))
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json")

    ok = await chaser("replay", str(good))
    assert ok.status == 0, ok.out + ok.err
    assert "1 ok, 0 failed" in ok.out

    mixed = await chaser("replay", str(good), str(broken), str(garbage))
    assert mixed.status == 1, mixed.out + mixed.err
    assert "1 ok, 2 failed" in mixed.out
    failures = [line for line in mixed.out.splitlines() if line.startswith("FAILED")]
    assert failures[0].startswith(f"FAILED {broken} (OrderChase): [TMPRL1100] Nondeterminism")
    assert "send_sms" in failures[0]
    assert failures[1].startswith(f"FAILED {garbage} (?): could not read the history")
    assert f"failed: {broken}" in mixed.err  # progress on stderr names it at once


async def test_dry_run_by_query_replays_every_running_chase(
    dev_env: WorkflowEnvironment, dev_worker: Worker, sessions: Sessions, settings: Settings
) -> None:
    handles = [
        await start_order_chase(dev_env.client, settings, await make_order(sessions))
        for _ in range(3)
    ]
    query = running_in(settings.temporal_task_queue)
    await visible(dev_env.client, query, 3)

    run = await chaser(
        "replay", "--query", query, "--progress-every", "2",
        env={"TEMPORAL_ADDRESS": address(dev_env)},
    )  # fmt: skip

    assert run.status == 0, run.out + run.err
    assert "replayed 3 workflow histories" in run.out and "3 ok, 0 failed" in run.out
    assert f"replaying 3 workflows matching {query!r}" in run.err
    assert "2 of 3 replayed, 0 failed" in run.err
    for handle in handles:
        await handle.terminate("test over")


async def test_dry_run_after_an_incompatible_edit_names_each_failing_chase(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    task_queue = f"{settings.temporal_task_queue}-old"
    ids = [f"order-old-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    async with Worker(
        dev_env.client, task_queue=task_queue, workflows=[OrderChaseBeforeAnIncompatibleEdit]
    ):
        handles = [
            await dev_env.client.start_workflow(
                "OrderChase",
                OrderChaseInput(workflow_id, has_phone=True, timings=settings.order_timings()),
                id=workflow_id,
                task_queue=task_queue,
            )
            for workflow_id in ids
        ]
        query = running_in(task_queue)
        await visible(dev_env.client, query, 2)
        for handle in handles:  # each has run its first task: the timer is in its history
            while len((await handle.fetch_history()).events) < 5:
                await asyncio.sleep(0.05)

        run = await chaser("replay", "--query", query, "--address", address(dev_env))

        for handle in handles:
            await handle.terminate("test over")
    assert run.status == 1, run.out + run.err
    assert "0 ok, 2 failed" in run.out
    for workflow_id in ids:
        assert f"FAILED {workflow_id} (OrderChase): [TMPRL1100] Nondeterminism error" in run.out


async def test_replay_by_workflow_id_reports_one_that_does_not_exist(
    dev_env: WorkflowEnvironment, dev_worker: Worker, sessions: Sessions, settings: Settings
) -> None:
    handle = await start_order_chase(dev_env.client, settings, await make_order(sessions))

    run = await chaser(
        "replay", "--workflow-id", handle.id, "--workflow-id", "order-never-started",
        "--address", address(dev_env),
    )  # fmt: skip

    assert run.status == 1, run.out + run.err
    assert "1 ok, 1 failed" in run.out
    assert "FAILED order-never-started (?): could not fetch the history" in run.out
    await handle.terminate("test over")


async def test_a_query_that_matches_nothing_says_so(dev_env: WorkflowEnvironment) -> None:
    run = await chaser(
        "replay", "--query", running_in("no-such-queue"), "--address", address(dev_env)
    )
    assert run.status == 0, run.err
    assert "no workflow matched" in run.err


async def test_usage_errors_exit_2_and_the_console_script_is_installed() -> None:
    assert (await chaser("replay")).status == 2
    assert (await chaser("replay", "a.json", "--workflow-id", "x")).status == 2
    script = Path(sys.executable).parent / "chaser"
    assert script.is_file(), "run `make setup`: pyproject's [project.scripts] installs `chaser`"


async def test_history_export_writes_the_json_of_temporal_workflow_show(
    dev_env: WorkflowEnvironment, dev_worker: Worker, sessions: Sessions, settings: Settings
) -> None:
    handle = await start_order_chase(dev_env.client, settings, await make_order(sessions))
    await handle.signal(OrderChase.cancel, OrderCancelled("cancel-1"))
    await handle.result()

    run = await chaser(
        "history", "export", "--workflow-id", handle.id, "--address", address(dev_env)
    )

    assert run.status == 0, run.err
    events = json.loads(run.out)["events"]
    assert events[0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    assert events[0]["workflowExecutionStartedEventAttributes"]["workflowId"] == handle.id
    assert events[-1]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
    assert len(events) == len((await handle.fetch_history()).events)

    missing = await chaser(
        "history", "export", "--workflow-id", "order-never-started", "--address", address(dev_env)
    )
    assert missing.status == 1, missing.err
    assert "order-never-started" in missing.err
