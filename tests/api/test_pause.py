"""`POST /v1/orders/{id}/pause` and `/resume` over real HTTP, with a real worker on the
Temporal dev server: who may pause, what is refused (and changes nothing), and a pause that
Temporal did not hear in time reaching the chase all the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.redelivery import redeliver_owed
from db.models import OrderPause
from db.session import Sessions
from scripts.devstack.servers import serve_api
from scripts.devstack.walk import backend_auth, register_manager
from settings import Settings
from tests.api.test_hostile import _far_future, unreachable_temporal  # noqa: F401
from tests.api.test_orders import order_body
from tests.api.test_together import ended, eventually, order
from tests.factories import history
from workflows.order_chase import OrderChase


def pause_body(days: float = 3, **overrides: Any) -> dict[str, Any]:
    until = datetime.now(UTC) + timedelta(days=days)
    return {"until": until.isoformat(), "reason": "customer on holiday", **overrides}


async def assigned_order(
    api: httpx.AsyncClient, settings: Settings, order_id: str, manager_id: str
) -> None:
    auth = backend_auth(settings)
    assert (await api.post("/v1/orders", json=order_body(order_id), headers=auth)).is_success
    moved = await api.post(
        f"/v1/orders/{order_id}/assign", json={"manager_id": manager_id}, headers=auth
    )
    assert moved.status_code == 200, moved.text


async def pause_lines(sessions: Sessions, order_id: str) -> list[str]:
    return [e.kind for e in await history(sessions, order_id) if e.kind in ("paused", "resumed")]


async def test_the_backend_and_the_assigned_manager_may_pause_no_one_else(
    api: httpx.AsyncClient, settings: Settings, sessions: Sessions
) -> None:
    olga = await register_manager(api, backend_auth(settings), "olga")
    ivan = await register_manager(api, backend_auth(settings), "ivan")
    await assigned_order(api, settings, "PZ-1", "olga")

    refused = await api.post("/v1/orders/PZ-1/pause", json=pause_body(), headers=ivan)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "order 'PZ-1' is not assigned to 'ivan'"
    assert (await api.post("/v1/orders/PZ-1/resume", headers=ivan)).status_code == 403

    by_olga = await api.post("/v1/orders/PZ-1/pause", json=pause_body(2), headers=olga)
    assert by_olga.status_code == 200, by_olga.text
    assert by_olga.json()["pause"]["by"] == "manager:olga"
    # Pausing a paused chase moves its end.
    later = pause_body(5, reason="still away")
    by_backend = await api.post("/v1/orders/PZ-1/pause", json=later, headers=backend_auth(settings))
    assert by_backend.json()["pause"]["until"][:19] == later["until"][:19]
    assert by_backend.json()["pause"]["reason"] == "still away"

    async def chase_paused_until() -> Any:
        return (await order(api, settings, "PZ-1"))["process"]["paused_until"]

    assert (await eventually(chase_paused_until))[:19] == later["until"][:19]
    resumed = await api.post("/v1/orders/PZ-1/resume", headers=olga)
    assert resumed.status_code == 200 and resumed.json()["pause"] is None
    assert await pause_lines(sessions, "PZ-1") == ["paused", "paused", "resumed"]

    async def chase_running() -> bool:
        return (await order(api, settings, "PZ-1"))["process"]["paused_until"] is None

    assert await eventually(chase_running)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (pause_body(-1), "is not in the future"),
        (pause_body(91), "is more than 90 days ahead"),
        ({"until": "2030-01-01T10:00:00", "reason": "away"}, "timezone"),
        ({"until": "next week", "reason": "away"}, "datetime"),
        (pause_body(reason=""), "reason"),
        ({"until": pause_body()["until"]}, "reason"),
        (pause_body(extra="x"), "extra"),
    ],
    ids=["past", "too-far", "naive", "not-a-date", "blank-reason", "no-reason", "unknown-field"],
)
async def test_bad_input_is_422_and_changes_nothing(
    api: httpx.AsyncClient,
    settings: Settings,
    sessions: Sessions,
    body: Any,
    detail: str,
    request: pytest.FixtureRequest,
) -> None:
    auth = backend_auth(settings)
    order_id = f"PZ-{request.node.callspec.id}"  # each its own chase on the shared server
    assert (await api.post("/v1/orders", json=order_body(order_id), headers=auth)).is_success
    response = await api.post(f"/v1/orders/{order_id}/pause", json=body, headers=auth)
    assert response.status_code == 422, response.text
    assert detail in response.json()["detail"]
    assert await pause_lines(sessions, order_id) == []
    assert (await order(api, settings, order_id))["pause"] is None


async def test_unknown_orders_are_404_and_ended_ones_409(
    api: httpx.AsyncClient, settings: Settings, sessions: Sessions
) -> None:
    auth = backend_auth(settings)
    for path in ("/v1/orders/NOPE/pause", "/v1/orders/NOPE/resume"):
        response = await api.post(path, json=pause_body(), headers=auth)
        assert response.status_code == 404 and response.json()["detail"] == "order 'NOPE' not found"

    assert (await api.post("/v1/orders", json=order_body("PZ-3"), headers=auth)).is_success
    paid = await api.post(
        "/v1/orders/PZ-3/events", json={"event_id": "p3-paid", "type": "paid"}, headers=auth
    )
    assert paid.status_code == 202
    await ended(api, settings, "PZ-3")
    for path in ("/v1/orders/PZ-3/pause", "/v1/orders/PZ-3/resume"):
        response = await api.post(path, json=pause_body(), headers=auth)
        assert response.status_code == 409
        assert response.json()["detail"] == "order 'PZ-3' is already paid"
    assert await pause_lines(sessions, "PZ-3") == []


async def test_a_pause_temporal_did_not_hear_is_delivered_later(
    api: httpx.AsyncClient,
    settings: Settings,
    sessions: Sessions,
    unreachable_temporal: Client,  # noqa: F811
    dev_env: WorkflowEnvironment,
) -> None:
    auth = backend_auth(settings)
    assert (await api.post("/v1/orders", json=order_body("PZ-4"), headers=auth)).is_success
    body = pause_body(4)
    async with serve_api(create_app(settings, temporal=unreachable_temporal)) as down:
        response = await down.post("/v1/orders/PZ-4/pause", json=body, headers=auth)
        assert response.status_code == 503, response.text
    # Stored and owed: the order shows it, the chase has not heard it yet.
    async with sessions() as session:
        (owed,) = await session.scalars(select(OrderPause))
    assert owed.signalled_at is None
    view = await order(api, settings, "PZ-4")
    assert view["pause"] is not None and view["process"]["paused_until"] is None

    assert await redeliver_owed(sessions, dev_env.client, settings, _far_future) == 1
    handle = dev_env.client.get_workflow_handle("order-PZ-4")

    async def heard() -> datetime | None:
        return (await handle.query(OrderChase.state)).paused_until

    assert (await eventually(heard)).isoformat()[:19] == body["until"][:19]
    assert await redeliver_owed(sessions, dev_env.client, settings, _far_future) == 0
    assert await pause_lines(sessions, "PZ-4") == ["paused"]
