"""Structured logs (log_config.py): workflow and activity lines carry their Temporal context
and the order, API lines their request id; no customer address or token at INFO."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from db.session import Sessions
from log_config import configure_logging
from scripts.devstack.mailbox import Mailbox
from scripts.devstack.servers import serve_api
from scripts.devstack.walk import backend_auth
from settings import Settings
from tests.api.test_orders import order_body
from tests.factories import history, make_order, start_order_chase
from workflows.messages import PaymentReceived
from workflows.order_chase import OrderChase
from workflows.tasks import TaskAnswer


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The process's logging as JSON into a buffer; the root logger restored after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buffer = io.StringIO()
    configure_logging("json", logging.INFO, stream=buffer)
    yield buffer
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


async def test_workflow_and_activity_lines_carry_the_chase_and_the_order(
    json_log: io.StringIO,
    ts_env: WorkflowEnvironment,
    ts_worker: Worker,
    sessions: Sessions,
    settings: Settings,
    mailbox: Mailbox,
) -> None:
    order = await make_order(sessions, customer_email="anna.secret@example.com")
    handle = await start_order_chase(ts_env.client, settings, order)
    await mailbox.wait_for(1)
    # Ending the chase while its SMS activity runs could leave the time-skipping server's
    # clock locked (scripts/devstack/walk.py, Walk.settled): first let the opening steps finish.
    for _ in range(400):
        sent_sms = "sms_sent" in [line.kind for line in await history(sessions, order.id)]
        if sent_sms and not (await handle.describe()).raw_description.pending_activities:
            break
        await asyncio.sleep(0.025)
    else:
        raise AssertionError("the chase did not settle")
    # A second answer to one task: the workflow logs a warning and ignores it.
    for _ in range(2):
        await handle.signal(OrderChase.answer_task, TaskAnswer(7, "yes", "olga"))
    await handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=True))
    await asyncio.wait_for(handle.result(), 60)

    logged = lines(json_log)
    sent = [line for line in logged if line["event"].startswith("email order_received")]
    assert len(sent) == 1
    assert (
        sent[0]
        | {
            "level": "info",
            "workflow_id": f"order-{order.id}",
            "order_id": order.id,
            "workflow_type": "OrderChase",
            "activity_type": "send_order_email",
            "attempt": 1,
        }
        == sent[0]
    )
    assert sent[0]["run_id"] == handle.result_run_id
    ignored = [line for line in logged if line["event"] == "ignoring a second answer to task 7"]
    assert len(ignored) == 1
    assert ignored[0]["order_id"] == order.id and ignored[0]["run_id"] == handle.result_run_id
    assert "activity_type" not in ignored[0]
    ended = [line for line in logged if line["event"].startswith(f"order {order.id} ended paid")]
    assert ended and ended[0]["activity_type"] == "finish_order"
    assert "anna.secret@example.com" not in json_log.getvalue()


async def test_api_lines_have_the_request_id_and_no_token(
    json_log: io.StringIO, settings: Settings, sessions: Sessions, dev_env: WorkflowEnvironment
) -> None:
    async with serve_api(create_app(settings, temporal=dev_env.client)) as api:
        given = await api.get(
            "/v1/orders/nope", headers={**backend_auth(settings), "X-Request-ID": "req-42"}
        )
        made = await api.get("/v1/orders/nope", headers=backend_auth(settings))
        weird = await api.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
        created = await api.post(
            "/v1/orders", json=order_body("LOG-1"), headers=backend_auth(settings)
        )
    assert given.status_code == 404 and given.headers["X-Request-ID"] == "req-42"
    assert len(made.headers["X-Request-ID"]) == 32
    assert weird.headers["X-Request-ID"] != "bad id\twith spaces"
    assert created.status_code == 201

    access = [line for line in lines(json_log) if line["logger"] == "chaser.access"]
    assert {
        "request_id": "req-42",
        "method": "GET",
        "path": "/v1/orders/{order_id}",
        "status": 404,
        "level": "info",
    }.items() <= access[0].items()
    assert access[1]["request_id"] == made.headers["X-Request-ID"]
    assert all(isinstance(line["duration_ms"], float) for line in access)
    text = json_log.getvalue()
    assert settings.backend_token.get_secret_value() not in text
    assert "anna@example.com" not in text
