"""Cursor pagination of the lists: every row once, in order, however the pages fall, and the
plain JSON array of before on each page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from db.models import HistoryEntry, Notification, Task
from db.session import Sessions
from scripts.devstack.walk import backend_auth, register_manager
from settings import Settings
from tests.factories import make_order

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def dev_worker(sessions: Sessions) -> None:
    """The lists need no worker: the suite's `api` is served without one here, on an emptied
    database."""


async def walk_pages(
    api: httpx.AsyncClient, path: str, headers: dict[str, str], limit: int, **params: Any
) -> list[list[dict[str, Any]]]:
    """Every page, following X-Next-Cursor, checked against the Link header."""
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await api.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            assert "Link" not in response.headers
            return pages
        assert response.headers["Link"].endswith('>; rel="next"')
        assert f"cursor={cursor}" in response.headers["Link"]


async def test_tasks_page_by_page_with_ties_in_time(
    api: httpx.AsyncClient, settings: Settings, sessions: Sessions
) -> None:
    olga = await register_manager(api, backend_auth(settings), "olga")
    order = await make_order(sessions)
    async with sessions() as session:
        for number in range(7):
            session.add(
                Task(
                    key=f"k-{number}",
                    order_id=order.id,
                    workflow_id=f"order-{order.id}",
                    kind="call",
                    title=f"Call {number}",
                    options=["reached"],
                    status="open",
                    # Pairs share a moment: the id breaks the tie, the cursor keeps it.
                    created_at=START + timedelta(minutes=number // 2),
                )
            )
        await session.commit()

    pages = await walk_pages(api, "/v1/tasks", olga, limit=3, order_id=order.id)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [t["title"] for p in pages for t in p] == [f"Call {n}" for n in range(7)]
    everything = (await api.get("/v1/tasks", params={"order_id": order.id}, headers=olga)).json()
    assert len(everything) == 7  # the default limit holds them all


async def test_history_call_list_and_notifications_page_too(
    api: httpx.AsyncClient, settings: Settings, sessions: Sessions
) -> None:
    olga = await register_manager(api, backend_auth(settings), "olga")
    backend = backend_auth(settings)
    orders = [
        await make_order(sessions, id=f"P-{n}", created_at=START + timedelta(hours=n))
        for n in range(5)
    ]
    async with sessions() as session:
        for n in range(5):
            session.add(
                HistoryEntry(
                    order_id="P-0", at=START + timedelta(seconds=n), kind="note", actor="test"
                )
            )
            session.add(
                Notification(
                    key=f"n-{n}",
                    manager_id="olga",
                    text=f"note {n}",
                    created_at=START + timedelta(minutes=n),
                )
            )
        await session.commit()

    history = await walk_pages(api, "/v1/orders/P-0/history", backend, limit=2)
    assert [len(p) for p in history] == [2, 2, 1]
    calls = await walk_pages(api, "/v1/call-list", backend, limit=2)
    assert [c["order_id"] for p in calls for c in p] == [o.id for o in orders]
    notes = await walk_pages(api, "/v1/notifications", olga, limit=4)
    assert [n["text"] for p in notes for n in p] == [f"note {n}" for n in reversed(range(5))]


@pytest.mark.parametrize(
    "params",
    [{"cursor": "not-a-cursor"}, {"cursor": "WzEsMl0"}, {"limit": 0}, {"limit": 1001}],
)
async def test_a_bad_cursor_or_limit_is_422(
    api: httpx.AsyncClient, settings: Settings, params: dict[str, Any]
) -> None:
    response = await api.get("/v1/call-list", params=params, headers=backend_auth(settings))
    assert response.status_code == 422, response.text
