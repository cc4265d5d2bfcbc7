"""`POST /v1/orders/import` and enrolment jobs over real HTTP: imported orders are stored
without chases, and a job (`POST /v1/orders/enroll`, then `GET /v1/enrollments/{id}`) starts
one chase per unpaid order, batch by batch, however often it runs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.enrollment import EnrollmentActivities
from api.app import create_app
from db.session import Sessions
from scripts.devstack.mailbox import Mailbox
from scripts.devstack.servers import serve_api
from scripts.devstack.walk import Walk, backend_auth
from settings import Settings
from tests.api.test_orders import order_body
from tests.factories import history, load_order, outbox
from workflows.enrollment import EnrollmentJob


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"enroll_batch_size": 200, "enroll_batch_pause": timedelta(seconds=0.1)}
    )


async def runs(env: WorkflowEnvironment, order_id: str) -> list[WorkflowExecutionStatus | None]:
    """Every run of the order's chase, as the server's visibility lists them (it may lag)."""
    query = f"WorkflowId = 'order-{order_id}'"
    for _ in range(40):
        found = [w.status async for w in env.client.list_workflows(query)]
        if found:
            break
        await asyncio.sleep(0.05)
    return found


async def enrol(api: httpx.AsyncClient, settings: Settings, **body: Any) -> dict[str, Any]:
    """Start a job and wait for it to finish; returns its final progress."""
    started = await api.post("/v1/orders/enroll", json=body, headers=backend_auth(settings))
    assert started.status_code == 202, started.text
    assert started.json()["state"] == "running"
    return await finished(api, settings, started.json()["id"])


async def finished(api: httpx.AsyncClient, settings: Settings, job_id: str) -> dict[str, Any]:
    for _ in range(600):
        job = (await api.get(f"/v1/enrollments/{job_id}", headers=backend_auth(settings))).json()
        if job["state"] == "done":
            return job  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"enrolment {job_id} did not finish: {job}")


async def test_imported_orders_wait_and_enrolling_twice_starts_one_chase_per_order(
    dev_walk: Walk, settings: Settings, sessions: Sessions, mailbox: Mailbox
) -> None:
    api, auth = dev_walk.api, dev_walk.backend
    now = datetime.now(UTC)
    # Ids unique per test: the dev server outlives every test's database.
    names = ("old", "recent", "other", "api", "paid", "gone")
    ids = {name: f"E-{name}-{uuid.uuid4().hex[:8]}" for name in names}
    product = ids["old"].replace("E-old", "course")  # a product only this test has
    ten_days_ago = (now - timedelta(days=10)).isoformat()

    def imported(name: str, **overrides: Any) -> dict[str, Any]:
        return order_body(ids[name], **{"product": {"id": product, "name": "Python"}, **overrides})

    batch = [
        imported("old", created_at=ten_days_ago),
        imported("recent", created_at=(now - timedelta(hours=1)).isoformat()),
        imported("other", product={"id": f"{product}-sql", "name": "SQL"}),
        imported("paid", created_at=ten_days_ago, status="paid"),
        imported("gone", created_at=ten_days_ago, status="cancelled"),
    ]
    response = await api.post("/v1/orders/import", json={"orders": batch}, headers=auth)
    assert response.json() == {"imported": 5, "already_known": []}, response.text
    # Imported orders are stored, closed ones with their outcome, and nothing is chased yet.
    paid = await load_order(sessions, ids["paid"])
    assert (paid.status, paid.outcome, paid.paid_amount) == ("paid", "positive", paid.amount)
    for name in ("old", "recent", "other", "paid", "gone"):
        assert not (await load_order(sessions, ids[name])).chase_started
    again = await api.post("/v1/orders/import", json={"orders": batch[:2]}, headers=auth)
    assert again.json() == {"imported": 0, "already_known": [ids["old"], ids["recent"]]}
    # And one that came through the API, so it has its chase already.
    created = await api.post(
        "/v1/orders", json=imported("api", created_at=ten_days_ago), headers=auth
    )
    assert created.status_code == 201

    first = await enrol(
        api, settings, product_id=product, created_before=(now - timedelta(days=1)).isoformat()
    )
    assert (first["found"], first["started"], first["processed"]) == (4, 1, 4)
    assert first["skipped"] == {"already_chased": 1, "closed": 2}
    assert first["finished_at"] is not None

    rest = await enrol(api, settings, product_id=product)  # recent; other is another product
    assert (rest["found"], rest["started"]) == (5, 1)
    assert rest["skipped"] == {"already_chased": 2, "closed": 2}
    sql = await enrol(api, settings, product_id=f"{product}-sql", status="new")
    assert (sql["found"], sql["started"]) == (1, 1)
    nothing = await enrol(api, settings, product_id=product)
    assert (nothing["started"], nothing["skipped"]) == (0, {"already_chased": 3, "closed": 2})

    for name in ("old", "recent", "other", "api"):
        assert await runs(dev_walk.env, ids[name]) == [WorkflowExecutionStatus.RUNNING], name
        assert (await load_order(sessions, ids[name])).chase_started
    for name in ("paid", "gone"):
        assert await runs(dev_walk.env, ids[name]) == []
    kinds = [line.kind for line in await history(sessions, ids["old"])]
    assert kinds[:2] == ["imported", "enrolled"] and "email_sent" in kinds
    # Each chased order got its "order received" email, once.
    await mailbox.wait_for(4)
    for name in ("old", "recent", "other", "api"):
        assert [email.kind for email in await outbox(sessions, ids[name])] == ["order_received"]


async def test_import_and_enrol_check_what_they_are_given(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    auth = backend_auth(settings)
    assert (await api.post("/v1/orders/import", json={"orders": []})).status_code == 401
    too_many = [order_body(f"T-{i}") for i in range(1001)]
    response = await api.post("/v1/orders/import", json={"orders": too_many}, headers=auth)
    assert response.status_code == 422
    twice = [order_body("T-1"), order_body("T-1")]
    response = await api.post("/v1/orders/import", json={"orders": twice}, headers=auth)
    assert response.status_code == 422 and "T-1" in response.text
    unknown_status = [order_body("T-2", status="refunded")]
    response = await api.post("/v1/orders/import", json={"orders": unknown_status}, headers=auth)
    assert response.status_code == 422

    assert (await api.post("/v1/orders/enroll", json={})).status_code == 401
    naive = await api.post(
        "/v1/orders/enroll", json={"created_before": "2026-01-01T00:00:00"}, headers=auth
    )
    assert naive.status_code == 422
    closed = await api.post("/v1/orders/enroll", json={"status": "paid"}, headers=auth)
    assert closed.status_code == 422
    assert (await api.get("/v1/enrollments/nope", headers=auth)).status_code == 404


@pytest_asyncio.fixture
async def job_api(
    settings: Settings, dev_env: WorkflowEnvironment, sessions: Sessions
) -> AsyncIterator[httpx.AsyncClient]:
    """The API beside a real worker that runs enrolment jobs only. The chases they start go to
    a task queue no worker polls: two thousand live chases would turn this test into a load
    test of the machine; the job's work is to start them, and that is what it checks."""
    parked = f"{settings.temporal_task_queue}-parked"
    activities = EnrollmentActivities(sessions, dev_env.client, settings.order_timings, parked)
    async with Worker(
        dev_env.client,
        task_queue=settings.temporal_task_queue,
        workflows=[EnrollmentJob],
        activities=[
            activities.count_orders,
            activities.enroll_batch,
            activities.finish_enrollment,
        ],
    ):
        async with serve_api(create_app(settings, temporal=dev_env.client)) as client:
            yield client


@pytest.mark.slow(40)
async def test_an_enrolment_of_two_thousand_orders_shows_its_progress(
    job_api: httpx.AsyncClient, settings: Settings, dev_env: WorkflowEnvironment
) -> None:
    auth = backend_auth(settings)
    prefix = f"J{uuid.uuid4().hex[:6]}"
    product = {"id": f"course-{prefix}", "name": "Python"}
    for thousand in range(2):
        orders = [order_body(f"{prefix}-{thousand}{i:03d}", product=product) for i in range(1000)]
        response = await job_api.post("/v1/orders/import", json={"orders": orders}, headers=auth)
        assert response.json()["imported"] == 1000

    started = await job_api.post(
        "/v1/orders/enroll", json={"product_id": product["id"]}, headers=auth
    )
    assert started.status_code == 202
    job_id = started.json()["id"]
    seen: list[tuple[str, int, int]] = []
    while not seen or seen[-1][0] != "done":
        job = (await job_api.get(f"/v1/enrollments/{job_id}", headers=auth)).json()
        seen.append((job["state"], job["found"], job["processed"]))
        await asyncio.sleep(0.05)
    assert job["found"] == job["started"] == job["processed"] == 2000
    assert job["skipped"] == {}
    # Progress between batches: part done while the job still ran, never going back.
    assert any(state == "running" and 0 < processed < 2000 for state, _, processed in seen)
    processed = [p for _, _, p in seen]
    assert processed == sorted(processed)
    for order_id in (f"{prefix}-0000", f"{prefix}-1999"):
        assert await runs(dev_env, order_id) == [WorkflowExecutionStatus.RUNNING]
