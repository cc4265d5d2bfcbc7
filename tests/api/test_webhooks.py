"""Signed webhooks out, to a real HTTP receiver that checks every signature with the
`standardwebhooks` package: a receiver that was down loses nothing, each order's events come
in order, 4xx stops a message, 429 waits for Retry-After, and a redelivery keeps the id."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from db.models import WebhookDelivery, WebhookEvent
from db.session import Sessions
from scripts.devstack.walk import Walk, backend_auth
from settings import Settings
from tests.receiver import Receiver, until
from webhooks.signing import new_secret
from worker import start_webhook_delivery
from workflows.webhook_delivery import webhook_delivery_id


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver(secret=new_secret())
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture
def settings(settings: Settings, receiver: Receiver) -> Settings:
    return settings.model_copy(
        update={
            "webhook_url": receiver.url(),
            "webhook_secret": SecretStr(receiver.secret),
            "webhook_poll": timedelta(seconds=0.05),
            "webhook_first_retry": timedelta(seconds=0.2),
            "webhook_max_retry_gap": timedelta(seconds=0.5),
            "grace": timedelta(seconds=0.2),
        }
    )


@pytest_asyncio.fixture
async def delivery(
    dev_env: WorkflowEnvironment, dev_worker: Worker, settings: Settings
) -> AsyncIterator[None]:
    """The delivery loop the worker process starts, here beside the test's worker."""
    await start_webhook_delivery(dev_env.client, settings)
    yield
    handle = dev_env.client.get_workflow_handle(webhook_delivery_id(settings.temporal_task_queue))
    await handle.terminate("test finished")


async def order_events(sessions: Sessions, order_id: str) -> list[WebhookEvent]:
    async with sessions() as session:
        rows = await session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.subject == f"order:{order_id}")
            .order_by(WebhookEvent.seq)
        )
        return list(rows)


async def deliveries(sessions: Sessions) -> list[WebhookDelivery]:
    async with sessions() as session:
        return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def first_arrivals(receiver: Receiver, path: str = "/hooks") -> list[str]:
    seen: list[str] = []
    for message in receiver.received:
        if message.path == path and message.message_id not in seen:
            seen.append(message.message_id)
    return seen


async def test_a_receiver_down_for_a_while_loses_nothing_and_hears_each_order_in_order(
    dev_walk: Walk, sessions: Sessions, receiver: Receiver, delivery: None
) -> None:
    order_id = f"W-{uuid.uuid4().hex[:8]}"
    await dev_walk.manager("olga")
    await dev_walk.create_order(order_id)
    take = await dev_walk.task("olga", order_id, "take_order")
    await receiver.wait_for(lambda: "task.created" in receiver.types())

    await receiver.stop()  # down: every attempt from now on is refused
    await dev_walk.answered("olga", take, "yes")
    await dev_walk.status(order_id, "in_progress")
    await dev_walk.task("olga", order_id, "call")
    assert (await dev_walk.event(order_id, "pay-1", "paid")).status_code == 202
    await dev_walk.status(order_id, "paid")

    async def retried_while_down() -> bool:
        return any(d.status == "pending" and d.attempts >= 2 for d in await deliveries(sessions))

    await until(retried_while_down)
    await receiver.start()

    # The chase has ended, thank-you sent: every event of the order is written.
    await dev_walk.env.client.get_workflow_handle(f"order-{order_id}").result()
    events = await order_events(sessions, order_id)
    await receiver.wait_for(lambda: set(first_arrivals(receiver)) >= {e.id for e in events})

    assert receiver.bad_signatures == 0
    # In order: the first arrival of each message follows the order the changes were made.
    assert first_arrivals(receiver) == [e.id for e in events]
    # Duplicates only ever repeat a message, byte for byte, under its id.
    bodies: dict[str, bytes] = {}
    for message in receiver.received:
        assert bodies.setdefault(message.message_id, message.raw) == message.raw
        assert message.body["id"] == message.message_id
    types = [e.type for e in events]
    assert types[:2] == ["email.sent", "task.created"]
    assert types.index("task.answered") < types.index("order.assigned")
    assert types[-2:] == ["order.chase_ended", "email.sent"]
    ended = next(e for e in events if e.type == "order.chase_ended")
    assert ended.data == {
        "order_id": order_id,
        "status": "paid",
        "outcome": "positive",
        "reason": "paid",
    }
    statuses = [e.data["new"] for e in events if e.type == "order.status_changed"]
    assert statuses == ["in_progress", "paid"]

    async def all_delivered() -> bool:  # recorded just after each receiver's answer
        return all(d.status == "delivered" for d in await deliveries(sessions))

    await until(all_delivered)


async def test_4xx_stops_a_message_429_waits_and_a_redelivery_keeps_its_id(
    dev_walk: Walk, sessions: Sessions, receiver: Receiver, delivery: None
) -> None:
    api, auth = dev_walk.api, dev_walk.backend
    strict = await api.post(
        "/v1/webhooks",
        json={"url": receiver.url("/strict"), "event_types": ["email.sent"]},
        headers=auth,
    )
    assert strict.status_code == 201, strict.text
    endpoint: dict[str, Any] = strict.json()
    assert endpoint["secret"].startswith("whsec_")
    receiver.secrets["/strict"] = endpoint["secret"]
    listed = (await api.get("/v1/webhooks", headers=auth)).json()
    assert endpoint["id"] in [e["id"] for e in listed]
    assert all("secret" not in e for e in listed)
    receiver.answers["/strict"] = [(410, {})]
    receiver.answers["/hooks"] = [(429, {"Retry-After": "1"})]

    order_id = f"W-{uuid.uuid4().hex[:8]}"
    await dev_walk.create_order(order_id, phone=None)

    async def email_sent() -> bool:
        return len(await order_events(sessions, order_id)) > 0

    await until(email_sent)
    received = (await order_events(sessions, order_id))[0]
    assert received.type == "email.sent"

    # 429: the second attempt waits the second the receiver asked for.
    await receiver.wait_for(lambda: receiver.types("/hooks")[:2] == ["email.sent", "email.sent"])
    first, second = [r for r in receiver.received if r.path == "/hooks"][:2]
    assert first.message_id == second.message_id == received.id
    assert second.at - first.at >= 1.0

    # 410: given up at once, listed as failed with the receiver's answer.
    async def failed_once() -> bool:
        response = await api.get("/v1/webhooks/deliveries?status=failed", headers=auth)
        return len(response.json()) == 1

    await until(failed_once)
    [failed] = (await api.get("/v1/webhooks/deliveries?status=failed", headers=auth)).json()
    assert (failed["endpoint_id"], failed["message_id"]) == (endpoint["id"], received.id)
    assert (failed["attempts"], failed["last_status"]) == (1, 410)
    assert receiver.types("/strict") == ["email.sent"]  # only the type it asked for, once

    # Redelivered: the same webhook-id, and this time accepted.
    again = await api.post(f"/v1/webhooks/deliveries/{failed['id']}/redeliver", headers=auth)
    assert again.status_code == 202 and again.json()["status"] == "pending"
    await receiver.wait_for(lambda: len(receiver.types("/strict")) == 2)
    assert {r.message_id for r in receiver.received if r.path == "/strict"} == {received.id}

    async def delivered() -> bool:
        response = await api.get(
            f"/v1/webhooks/deliveries?endpoint_id={endpoint['id']}", headers=auth
        )
        return [d["status"] for d in response.json()] == ["delivered"]

    await until(delivered)
    assert receiver.bad_signatures == 0


async def test_endpoints_are_checked_and_removed(
    api: httpx.AsyncClient, settings: Settings, delivery: None
) -> None:
    auth = backend_auth(settings)
    bad_type = await api.post(
        "/v1/webhooks", json={"url": "http://x.test/", "event_types": ["order.eaten"]}, headers=auth
    )
    assert bad_type.status_code == 422
    bad_url = await api.post("/v1/webhooks", json={"url": "ftp://x.test/"}, headers=auth)
    assert bad_url.status_code == 422
    assert (await api.post("/v1/webhooks", json={"url": "http://x.test/"})).status_code == 401
    created = (await api.post("/v1/webhooks", json={"url": "http://x.test/"}, headers=auth)).json()
    assert (await api.delete(f"/v1/webhooks/{created['id']}", headers=auth)).status_code == 204
    assert (await api.delete(f"/v1/webhooks/{created['id']}", headers=auth)).status_code == 404
    assert (await api.delete("/v1/webhooks/default", headers=auth)).status_code == 409
