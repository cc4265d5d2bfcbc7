"""The open-tracking pixel over real HTTP, with a real worker on the Temporal dev server."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from api.routes.tracking import PIXEL
from db.models import Email, HistoryEntry
from db.session import Sessions
from scripts.devstack.mailbox import Mailbox
from scripts.devstack.walk import Walk, backend_auth
from settings import Settings
from tests.api.test_orders import order_body
from tests.factories import history, outbox


def unique(prefix: str) -> str:
    """Order ids are unique per test: the dev server outlives every test's database."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def assert_is_the_pixel(response: httpx.Response) -> None:
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/gif"
    assert response.content == PIXEL and PIXEL.startswith(b"GIF89a") and len(PIXEL) == 43
    assert "no-store" in response.headers["cache-control"]
    assert response.headers["pragma"] == "no-cache"


async def opened_signals(handle: WorkflowHandle[Any, Any]) -> list[str]:
    events = (await handle.fetch_history()).events
    return [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        and e.workflow_execution_signaled_event_attributes.signal_name == "email_opened"
    ]


async def test_first_open_is_recorded_once_and_reaches_the_chase(
    dev_walk: Walk, sessions: Sessions, mailbox: Mailbox
) -> None:
    api, auth = dev_walk.api, dev_walk.backend
    order_id = unique("T")
    created = await api.post("/v1/orders", json=order_body(order_id), headers=auth)
    assert created.status_code == 201, created.text
    [message] = await mailbox.wait_for(1)
    html = message.get_body(("html",))
    assert html is not None
    found = re.search(r'src="http://chaser\.test(/t/([0-9a-f]{32})\.gif)"', html.get_content())
    assert found, html.get_content()
    path, message_id = found.groups()

    first = await api.get(path)  # no Authorization: mail clients load images anonymously
    assert_is_the_pixel(first)
    [email] = await outbox(sessions, order_id)
    assert email.id == message_id and email.opened_at is not None
    opened_at = email.opened_at

    again = await api.get(path)
    assert_is_the_pixel(again)
    [email] = await outbox(sessions, order_id)
    assert email.opened_at == opened_at  # the first open stands
    opens = [line for line in await history(sessions, order_id) if line.kind == "email_opened"]
    assert [(line.actor, line.detail["message_id"]) for line in opens] == [("customer", message_id)]
    handle = dev_walk.env.client.get_workflow_handle(f"order-{order_id}")
    assert await opened_signals(handle) == ["email_opened"]


async def test_an_unknown_id_gets_the_gif_and_changes_nothing(
    api: httpx.AsyncClient, settings: Settings, sessions: Sessions, mailbox: Mailbox
) -> None:
    await api.post("/v1/orders", json=order_body(unique("T")), headers=backend_auth(settings))
    await mailbox.wait_for(1)

    async def snapshot() -> tuple[int, list[tuple[str, datetime | None]]]:
        """What an open changes: the emails' opened_at and the opens in the history (the chase
        itself keeps writing other lines meanwhile)."""
        async with sessions() as session:
            opens = await session.scalar(
                select(func.count()).where(HistoryEntry.kind == "email_opened")
            )
            emails = await session.execute(select(Email.id, Email.opened_at).order_by(Email.id))
        return int(opens or 0), [(id, opened_at) for id, opened_at in emails]

    before = await snapshot()
    assert before[1] and before[1][0][1] is None  # the order_received email, not opened
    for unknown in ("0" * 32, "no-such-email", "x" * 300):
        assert_is_the_pixel(await api.get(f"/t/{unknown}.gif"))
    assert await snapshot() == before
    assert (await api.get("/t/.gif")).status_code == 404  # not a pixel path at all


async def test_an_open_after_the_chase_ended_is_recorded_without_error(
    dev_walk: Walk, sessions: Sessions, mailbox: Mailbox
) -> None:
    api, auth = dev_walk.api, dev_walk.backend
    order_id = unique("T")
    await api.post("/v1/orders", json=order_body(order_id), headers=auth)
    await mailbox.wait_for(1)
    paid = {"event_id": f"pay-{order_id}", "type": "paid"}
    await api.post(f"/v1/orders/{order_id}/events", json=paid, headers=auth)
    await dev_walk.status(order_id, "paid")
    await dev_walk.env.client.get_workflow_handle(f"order-{order_id}").result()
    await mailbox.wait_for(2)

    thanks = [e for e in await outbox(sessions, order_id) if e.kind == "thank_you"]
    assert_is_the_pixel(await api.get(f"/t/{thanks[0].id}.gif"))
    [email] = [e for e in await outbox(sessions, order_id) if e.kind == "thank_you"]
    assert email.opened_at is not None
