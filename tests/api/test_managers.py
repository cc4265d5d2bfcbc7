"""Managers over time, through the HTTP API with a real worker under time skipping: listing and
editing them, a new token, re-assigning an order, deactivating with a successor, releasing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import HistoryEntry
from db.session import Sessions
from scripts.devstack.walk import Walk
from tests.factories import history


@pytest.fixture
async def walk(walk: Walk) -> Walk:
    for manager in ("olga", "ivan", "petr"):
        await walk.manager(manager)
    return walk


async def first_call(walk: Walk, order_id: str, manager: str = "olga") -> dict[str, object]:
    """A new order, taken by `manager` after the grace minute: its first call task."""
    await walk.create_order(order_id)
    await walk.skip(minutes=1)
    await walk.answered(manager, await walk.task(manager, order_id, "take_order"), "yes")
    return await walk.task(manager, order_id, "call")


async def test_list_edit_and_a_new_token(walk: Walk) -> None:
    api, backend = walk.api, walk.backend
    listed = (await api.get("/v1/managers", headers=backend)).json()
    assert [m["id"] for m in listed] == ["ivan", "olga", "petr"]
    assert listed[1] | {"created_at": None} == {
        "id": "olga",
        "name": "Olga",
        "email": "olga@shop.example",
        "signature": "",
        "language": "en",
        "timezone": "Europe/Moscow",
        "working_hours": None,  # WORKING_HOURS
        "active": True,
        "created_at": None,
        "deactivated_at": None,
    }

    patched = await api.patch(
        "/v1/managers/olga",
        json={"name": "Olga Smirnova", "language": "ru", "timezone": "Asia/Yekaterinburg"},
        headers=backend,
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["language"], patched.json()["timezone"]) == (
        "Olga Smirnova",
        "ru",
        "Asia/Yekaterinburg",
    )
    bad = await api.patch("/v1/managers/olga", json={"timezone": "Mars/Olympus"}, headers=backend)
    assert bad.status_code == 422
    assert (await api.get("/v1/managers/olga", headers=backend)).json()["timezone"] == (
        "Asia/Yekaterinburg"
    )
    hours = await api.patch(
        "/v1/managers/olga", json={"working_hours": "Mon-Sat 10:00-18:00"}, headers=backend
    )
    assert hours.status_code == 200 and hours.json()["working_hours"] == "Mon-Sat 10:00-18:00"
    bad = await api.patch("/v1/managers/olga", json={"working_hours": "9 to 5"}, headers=backend)
    assert bad.status_code == 422
    assert "write them as 'Mon-Fri 09:00-19:00'" in bad.json()["detail"]
    assert (await api.get("/v1/managers/olga", headers=backend)).json()["working_hours"] == (
        "Mon-Sat 10:00-18:00"
    )
    assert (await api.patch("/v1/managers/nobody", json={}, headers=backend)).status_code == 404
    as_manager = await api.get("/v1/managers", headers=walk.managers["olga"])
    assert as_manager.status_code == 403

    old = walk.managers["olga"]
    issued = await api.post("/v1/managers/olga/token", headers=backend)
    assert issued.status_code == 200
    new = {"Authorization": f"Bearer {issued.json()['token']}"}
    assert (await api.get("/v1/tasks", headers=old)).status_code == 401
    assert (await api.get("/v1/tasks", headers=new)).status_code == 200
    assert (await api.post("/v1/managers/nobody/token", headers=backend)).status_code == 404


async def test_assign_moves_the_open_call_and_the_later_tasks(
    walk: Walk, sessions: Sessions
) -> None:
    call = await first_call(walk, "MGR-1")
    assert call["assignee_id"] == "olga"
    api, backend = walk.api, walk.backend

    assert (
        await api.post("/v1/orders/MGR-1/assign", json={"manager_id": "ghost"}, headers=backend)
    ).status_code == 409
    assert (
        await api.post("/v1/orders/MGR-404/assign", json={"manager_id": "ivan"}, headers=backend)
    ).status_code == 404
    by_manager = await api.post(
        "/v1/orders/MGR-1/assign", json={"manager_id": "ivan"}, headers=walk.managers["olga"]
    )
    assert by_manager.status_code == 403
    assigned = await api.post(
        "/v1/orders/MGR-1/assign", json={"manager_id": "ivan"}, headers=backend
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignee_id"] == "ivan"

    # The open call is Ivan's now: Olga can no longer answer it.
    assert (await walk.answer("olga", call, "no_answer")).status_code == 403
    await walk.answered("ivan", call, "no_answer")
    # The dial's next call, 30 minutes on, and the chase's next question go to Ivan.
    await walk.skip(minutes=30)
    second = await walk.task("ivan", "MGR-1", "call")
    assert second["assignee_id"] == "ivan"
    await walk.answered("ivan", second, "reached")
    will_pay = await walk.task("ivan", "MGR-1", "will_pay")
    assert will_pay["assignee_id"] == "ivan"
    assert (await walk.order("MGR-1"))["process"]["assignee_id"] == "ivan"

    moved = [line for line in await history(sessions, "MGR-1") if line.kind == "reassigned"]
    assert [(m.actor, m.detail["old"], m.detail["new"]) for m in moved] == [
        ("backend", "olga", "ivan")
    ]


async def test_deactivate_with_a_successor(walk: Walk, sessions: Sessions) -> None:
    call = await first_call(walk, "MGR-2")
    api, backend = walk.api, walk.backend

    for successor, status in (("ghost", 409), ("olga", 409)):
        refused = await api.post(
            "/v1/managers/olga/deactivate", json={"successor_id": successor}, headers=backend
        )
        assert refused.status_code == status, refused.text
    assert (await api.get("/v1/managers/olga", headers=backend)).json()["active"] is True
    await api.post("/v1/managers/petr/deactivate", json={}, headers=backend)
    inactive = await api.post(
        "/v1/managers/olga/deactivate", json={"successor_id": "petr"}, headers=backend
    )
    assert inactive.status_code == 409 and "deactivated" in inactive.json()["detail"]

    done = await api.post(
        "/v1/managers/olga/deactivate", json={"successor_id": "ivan"}, headers=backend
    )
    assert done.status_code == 200, done.text
    assert done.json()["orders_moved"] == ["MGR-2"] and done.json()["manager"]["active"] is False
    # Olga can no longer sign in or answer; the call is in Ivan's inbox at once.
    assert (await walk.answer("olga", call, "no_answer")).status_code == 403
    mine = await api.get("/v1/tasks", params={"scope": "mine"}, headers=walk.managers["ivan"])
    assert [t["id"] for t in mine.json()] == [call["id"]]
    assert (await walk.order("MGR-2"))["assignee_id"] == "ivan"

    # The chase's next call goes to the successor.
    await walk.answered("ivan", call, "no_answer")
    await walk.skip(minutes=30)
    assert (await walk.task("ivan", "MGR-2", "call"))["assignee_id"] == "ivan"
    kinds = [line.kind for line in await history(sessions, "MGR-2")]
    assert "reassigned" in kinds and "task_moved" in kinds


async def test_deactivate_without_a_successor_and_release(walk: Walk) -> None:
    call = await first_call(walk, "MGR-3")
    api = walk.api
    # Petr cannot release Olga's task; Olga can, once.
    assert (
        await api.post(f"/v1/tasks/{call['id']}/release", headers=walk.managers["petr"])
    ).status_code == 403
    released = await api.post(f"/v1/tasks/{call['id']}/release", headers=walk.managers["olga"])
    assert released.status_code == 200 and released.json()["assignee_id"] is None
    again = await api.post(f"/v1/tasks/{call['id']}/release", headers=walk.managers["olga"])
    assert again.status_code == 409

    # Deactivated with no successor: the order goes back to the pool with its later tasks.
    patched = await api.patch("/v1/managers/olga", json={"active": False}, headers=walk.backend)
    assert patched.status_code == 200 and patched.json()["active"] is False
    assert (await walk.order("MGR-3"))["assignee_id"] is None
    await walk.answered("petr", call, "no_answer")
    await walk.skip(minutes=30)
    assert (await walk.task("petr", "MGR-3", "call"))["assignee_id"] is None


async def test_deactivating_a_manager_hands_their_leads_to_the_successor(
    walk: Walk, sessions: Sessions
) -> None:
    api, backend = walk.api, walk.backend
    lead = {
        "title": "Website redesign",
        "name": "Ivan Petrov",
        "email": "ivan@client.example",
        "responsible_manager_id": "olga",
    }
    created = await api.post(
        "/v1/leads/L-9/events",
        json={"event_id": "e-1", "type": "status_changed", "status": "New", "lead": lead},
        headers=backend,
    )
    assert created.status_code == 202, created.text

    # Follow-ups go out in the responsible manager's name: the leads need a successor.
    for refused in (
        await api.post("/v1/managers/olga/deactivate", json={}, headers=backend),
        await api.patch("/v1/managers/olga", json={"active": False}, headers=backend),
    ):
        assert refused.status_code == 409 and "1 leads" in refused.json()["detail"]
    assert (await api.get("/v1/managers/olga", headers=backend)).json()["active"] is True

    done = await api.post(
        "/v1/managers/olga/deactivate", json={"successor_id": "ivan"}, headers=backend
    )
    assert done.status_code == 200, done.text
    moved = (await api.get("/v1/leads/L-9", headers=backend)).json()
    assert moved["responsible_manager_id"] == "ivan"
    async with sessions() as session:
        lines = await session.scalars(select(HistoryEntry).where(HistoryEntry.lead_id == "L-9"))
        reassigned = [line.detail for line in lines if line.kind == "reassigned"]
    assert [(line["old"], line["new"]) for line in reassigned] == [("olga", "ivan")]
