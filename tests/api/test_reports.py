"""`GET /v1/reports/outcomes`: chases that really ended, counted per product for conversion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from scripts.devstack.walk import Walk, backend_auth
from settings import Settings
from tests.api.test_orders import order_body

DESIGN = ("course-design", "Design basics")


async def report(api: httpx.AsyncClient, settings: Settings, **params: str) -> dict[str, Any]:
    response = await api.get("/v1/reports/outcomes", params=params, headers=backend_auth(settings))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def counts(line: dict[str, Any]) -> tuple[int, int, int, int, int]:
    return line["orders"], line["open"], line["positive"], line["neutral"], line["negative"]


async def test_paid_duplicate_cancelled_and_expired_chases_are_counted_per_product(
    walk: Walk, settings: Settings
) -> None:
    await walk.manager("olga")
    for order_id in ("R-paid", "R-duplicate"):
        await walk.create_order(order_id)
    for order_id in ("R-cancelled", "R-expired"):
        await walk.create_order(order_id, product=DESIGN)
    for order_id in ("R-paid", "R-duplicate", "R-cancelled", "R-expired"):
        await walk.settled(order_id)

    assert (await walk.event("R-paid", "r1", "paid")).status_code == 202
    assert (await walk.event("R-cancelled", "r2", "cancelled")).status_code == 202
    await walk.skip(minutes=1)
    await walk.answered("olga", await walk.task("olga", "R-duplicate", "take_order"), "duplicate")
    for order_id, status in [("R-paid", "paid"), ("R-cancelled", "cancelled")]:
        await walk.status(order_id, status)
    await walk.status("R-duplicate", "false")

    early = await report(walk.api, settings)
    design, python = early["products"]
    assert (python["product_id"], python["product_name"]) == (
        "course-python",
        "Python for analysts",
    )
    assert counts(python) == (2, 0, 1, 1, 0) and python["conversion"] == 1.0
    assert (design["product_id"], design["product_name"]) == DESIGN
    assert counts(design) == (2, 1, 0, 0, 1) and design["conversion"] == 0.0
    assert design["negative_reasons"] == {"cancelled": 1}

    await walk.skip(days=30)  # the payment window closes on the order nobody took
    await walk.status("R-expired", "cancelled")
    late = await report(walk.api, settings)
    design = late["products"][0]
    assert counts(design) == (2, 0, 0, 0, 2)
    assert design["negative_reasons"] == {"cancelled": 1, "expired": 1}
    assert counts(late["total"]) == (4, 0, 1, 1, 2)
    assert late["total"]["conversion"] == round(1 / 3, 4)  # the duplicate is left out

    only = await report(walk.api, settings, product_id="course-python")
    assert [line["product_id"] for line in only["products"]] == ["course-python"]
    assert counts(only["total"]) == (2, 0, 1, 1, 0)


async def test_the_report_filters_by_creation_time_and_refuses_bad_input(
    api: httpx.AsyncClient, settings: Settings, dev_env: WorkflowEnvironment
) -> None:
    auth = backend_auth(settings)
    june = datetime(2026, 6, 1, tzinfo=UTC)
    for number, created in enumerate([june, june + timedelta(days=10), june + timedelta(days=40)]):
        body = order_body(f"F-{number}", created_at=created.isoformat())
        assert (await api.post("/v1/orders", json=body, headers=auth)).status_code == 201

    june_only = await report(
        api,
        settings,
        created_from=june.isoformat(),
        created_before=(june + timedelta(days=30)).isoformat(),
    )
    assert counts(june_only["total"]) == (2, 2, 0, 0, 0)
    assert june_only["total"]["conversion"] is None  # nothing decided yet
    later = await report(api, settings, created_from=(june + timedelta(days=30)).isoformat())
    assert counts(later["total"])[:2] == (1, 1)
    nothing = await report(api, settings, product_id="no-such-product")
    assert nothing["products"] == [] and counts(nothing["total"]) == (0, 0, 0, 0, 0)

    backwards = await api.get(
        "/v1/reports/outcomes",
        params={"created_from": june.isoformat(), "created_before": june.isoformat()},
        headers=auth,
    )
    assert backwards.status_code == 422
    assert backwards.json()["detail"] == "created_from must be before created_before"
    naive = await api.get(
        "/v1/reports/outcomes", params={"created_from": "2026-06-01T00:00"}, headers=auth
    )
    assert naive.status_code == 422
    assert (await api.get("/v1/reports/outcomes")).status_code == 401
    manager = await api.post(
        "/v1/managers",
        json={"id": "rita", "name": "Rita", "email": "rita@shop.example"},
        headers=auth,
    )
    token = {"Authorization": f"Bearer {manager.json()['token']}"}
    assert (await api.get("/v1/reports/outcomes", headers=token)).status_code == 403


async def test_open_tasks_are_counted_by_manager_and_kind_until_the_orders_end(walk: Walk) -> None:
    await walk.manager("olga")
    await walk.create_order("T-taken")
    await walk.create_order("T-waiting")
    await walk.skip(minutes=1)
    take = await walk.task("olga", "T-taken", "take_order")
    await walk.answered("olga", take, "yes")
    call = await walk.task("olga", "T-taken", "call")
    waiting = await walk.task("olga", "T-waiting", "take_order")

    response = await walk.api.get("/v1/reports/open-tasks", headers=walk.backend)
    assert response.status_code == 200, response.text
    assert response.json() == [
        {
            "assignee_id": None,
            "kind": "take_order",
            "open": 1,
            "oldest_created_at": waiting["created_at"],
        },
        {"assignee_id": "olga", "kind": "call", "open": 1, "oldest_created_at": call["created_at"]},
    ]
    manager = await walk.api.get("/v1/reports/open-tasks", headers=walk.managers["olga"])
    assert manager.status_code == 403

    for order_id in ("T-taken", "T-waiting"):
        await walk.event(order_id, f"pay-{order_id}", "paid")
        await walk.status(order_id, "paid")
    assert (await walk.api.get("/v1/reports/open-tasks", headers=walk.backend)).json() == []
