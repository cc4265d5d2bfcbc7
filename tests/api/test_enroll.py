"""`POST /v1/orders/enroll` over real HTTP: known unpaid orders without a chase get one, once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from db.session import Sessions
from settings import Settings
from tests.api.test_orders import order_body
from tests.conftest import backend_auth
from tests.factories import history, load_order, make_order, outbox
from tests.mailbox import Mailbox


async def runs(env: WorkflowEnvironment, order_id: str) -> list[WorkflowExecutionStatus | None]:
    """Every run of the order's chase, as the server's visibility lists them (it may lag)."""
    query = f"WorkflowId = 'order-{order_id}'"
    for _ in range(40):
        found = [w.status async for w in env.client.list_workflows(query)]
        if found:
            break
        await asyncio.sleep(0.05)
    return found


async def test_enrolling_twice_starts_one_chase_per_order(
    api: httpx.AsyncClient,
    settings: Settings,
    dev_env: WorkflowEnvironment,
    sessions: Sessions,
    mailbox: Mailbox,
) -> None:
    auth = backend_auth(settings)
    now = datetime.now(UTC)
    # Ids unique per test: the dev server outlives every test's database.
    names = ("old", "recent", "other", "api", "paid", "gone")
    ids = {name: f"E-{name}-{uuid.uuid4().hex[:8]}" for name in names}
    # Orders the shop had before chaser: imported straight into the table, no chase.
    old = await make_order(sessions, id=ids["old"], created_at=now - timedelta(days=10))
    recent = await make_order(sessions, id=ids["recent"], created_at=now - timedelta(hours=1))
    other = await make_order(sessions, id=ids["other"], product_id="course-sql")
    await make_order(sessions, id=ids["paid"], status="paid", created_at=now - timedelta(days=10))
    await make_order(
        sessions, id=ids["gone"], status="cancelled", created_at=now - timedelta(days=9)
    )
    # And one that came through the API, so it has its chase already.
    assert (
        await api.post("/v1/orders", json=order_body(ids["api"]), headers=auth)
    ).status_code == 201

    first = await api.post(
        "/v1/orders/enroll",
        json={
            "product_id": "course-python",
            "created_before": (now - timedelta(days=1)).isoformat(),
        },
        headers=auth,
    )
    assert first.status_code == 200, first.text
    assert first.json() == {"started": 1, "order_ids": [old.id]}

    rest = await api.post("/v1/orders/enroll", json={}, headers=auth)
    assert rest.json() == {"started": 2, "order_ids": [recent.id, other.id]}  # oldest first
    again = await api.post("/v1/orders/enroll", json={}, headers=auth)
    assert again.json() == {"started": 0, "order_ids": []}

    for order_id in (ids["old"], ids["recent"], ids["other"], ids["api"]):
        assert await runs(dev_env, order_id) == [WorkflowExecutionStatus.RUNNING], order_id
        assert (await load_order(sessions, order_id)).chase_started
    for order_id in (ids["paid"], ids["gone"]):
        assert await runs(dev_env, order_id) == []
    enrolled = [line.kind for line in await history(sessions, ids["old"])]
    assert enrolled[0] == "enrolled" and "email_sent" in enrolled
    # Each chased order got its "order received" email, once.
    await mailbox.wait_for(4)
    for order_id in (ids["old"], ids["recent"], ids["other"], ids["api"]):
        kinds = [email.kind for email in await outbox(sessions, order_id)]
        assert kinds == ["order_received"], order_id


async def test_enrol_needs_the_backend_token_and_valid_filters(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    assert (await api.post("/v1/orders/enroll", json={})).status_code == 401
    naive = await api.post(
        "/v1/orders/enroll",
        json={"created_before": "2026-01-01T00:00:00"},
        headers=backend_auth(settings),
    )
    assert naive.status_code == 422
    unknown = await api.post(
        "/v1/orders/enroll", json={"status": "new"}, headers=backend_auth(settings)
    )
    assert unknown.status_code == 422
