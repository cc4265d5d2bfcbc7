"""Prometheus metrics: the worker's endpoint (the SDK's metrics and the business counters of
the activities) and the API's /metrics (requests, opens, gauges from the database)."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from db.models import Task, WebhookDelivery, WebhookEndpoint, WebhookEvent
from db.session import Sessions
from scripts.devstack.mailbox import Mailbox
from scripts.devstack.servers import free_port, serve_api
from scripts.devstack.walk import backend_auth
from settings import Settings
from tests.api.test_orders import order_body
from tests.factories import make_order, outbox
from worker import serve

DASHBOARD = (
    Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "dashboards" / "chaser.json"
)


def exposed(text: str) -> set[str]:
    """The metric names as a Prometheus page writes them (what PromQL queries): the SDK's
    counters have no `_total`, prometheus_client's have; histograms by their family name."""
    lines = text.splitlines()
    names = {line.split("{")[0].split(" ")[0] for line in lines if line[:1] != "#"}
    # A gauge with no labelled value yet (no open task) is declared all the same.
    names |= {line.split()[2] for line in lines if line.startswith("# TYPE ") and "gauge" in line}
    return {re.sub(r"_(bucket|count|sum)$", "", name) for name in names if name}


def dashboard_metrics() -> set[str]:
    """The metrics the Grafana dashboard's queries read."""
    exprs = [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"]]
    names = re.findall(r"\b(?:chaser|temporal|http)_[a-z_]+", " ".join(exprs))
    return {re.sub(r"_(bucket|count|sum)$", "", name) for name in names}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """{(sample name, labels): value} of a Prometheus text page."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    page: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """The sample's value; labels given must match, others (the SDK's own) may be there too."""
    found = [v for (n, ls), v in page.items() if n == name and set(labels.items()) <= set(ls)]
    assert found, f"no {name} {labels} in {sorted({n for n, _ in page})}"
    return sum(found)


async def test_an_order_paid_and_opened_shows_on_both_endpoints(
    settings: Settings, sessions: Sessions, dev_env: WorkflowEnvironment, mailbox: Mailbox
) -> None:
    port = free_port()
    settings = settings.model_copy(
        update={
            "temporal_address": dev_env.client.service_client.config.target_host,
            "worker_metrics_port": port,
        }
    )
    stop = asyncio.Event()
    worker = asyncio.create_task(serve(settings, stop))
    try:
        async with serve_api(create_app(settings, temporal=dev_env.client)) as api:
            body = order_body("M-1", customer={"name": "Anna", "email": "anna@example.com"})
            created = await api.post("/v1/orders", json=body, headers=backend_auth(settings))
            assert created.status_code == 201, created.text
            await mailbox.wait_for(1)
            first = (await outbox(sessions, "M-1"))[0]
            assert (await api.get(f"/t/{first.id}.gif")).status_code == 200
            paid = await api.post(
                "/v1/orders/M-1/events",
                json={"event_id": "pay-M-1", "type": "paid"},
                headers=backend_auth(settings),
            )
            assert paid.status_code == 202, paid.text
            await mailbox.wait_for(2)  # the thank-you

            assert (await api.get("/no/such/page")).status_code == 404
            unknown = await api.get("/v1/orders/NOPE", headers=backend_auth(settings))
            assert unknown.status_code == 404
            await api.get("/metrics")  # not counted
            api_text = (await api.get("/metrics")).text
            page = samples(api_text)
            # A path no route matches is `none`; a 404 of a route keeps its template.
            assert value(page, "http_requests_total", handler="none", status="404") == 1
            order = "/v1/orders/{order_id}"
            assert value(page, "http_requests_total", handler=order, status="404") == 1
            assert 'handler="/metrics"' not in api_text
            assert value(page, "http_requests_total", handler="/v1/orders", status="201") == 1
            events = "/v1/orders/{order_id}/events"
            assert value(page, "http_request_duration_seconds_count", handler=events) == 1
            assert value(page, "chaser_emails_opened_total", kind="order_received") == 1
            assert value(page, "chaser_orders", status="paid") == 1
            assert value(page, "chaser_orders_created_last_hour") == 1

        async with httpx.AsyncClient() as scraper:
            for _ in range(100):  # the activity's counter lands a moment after its email
                text = (await scraper.get(f"http://127.0.0.1:{port}/metrics")).text
                worker_page = samples(text)
                if 'kind="thank_you"' in text:
                    break
                await asyncio.sleep(0.05)
        assert value(worker_page, "chaser_emails_total", kind="thank_you", status="sent") == 1
        assert value(worker_page, "chaser_emails_total", kind="order_received", status="sent") == 1
        paid_order = {"product_id": "course-python", "outcome": "positive", "reason": "paid"}
        assert value(worker_page, "chaser_order_outcomes_total", **paid_order) == 1
        assert value(worker_page, "chaser_paid_to_thank_you_seconds_count") == 1
        assert (
            value(worker_page, "temporal_worker_task_slots_available", worker_type="ActivityWorker")
            > 0
        )
        assert value(worker_page, "temporal_activity_schedule_to_start_latency_count") >= 2
        # Every panel of the Grafana dashboard reads a metric that really is exported.
        missing = dashboard_metrics() - exposed(api_text) - exposed(text)
        assert not missing, f"the dashboard queries metrics nobody exports: {missing}"
    finally:
        stop.set()
        await worker


async def test_open_tasks_by_kind_and_age(
    settings: Settings, sessions: Sessions, dev_env: WorkflowEnvironment
) -> None:
    now = datetime.now(UTC)
    order = await make_order(sessions)
    ages = {"a": timedelta(minutes=5), "b": timedelta(hours=3), "c": timedelta(days=2)}
    ages |= {"d": timedelta(days=4), "e": timedelta(days=5)}
    async with sessions() as session:
        for key, age in ages.items():
            session.add(
                Task(
                    key=key,
                    order_id=order.id,
                    workflow_id=f"order-{order.id}",
                    kind="call",
                    title="Call",
                    status="open",
                    created_at=now - age,
                )
            )
        session.add(
            Task(
                key="done",
                order_id=order.id,
                workflow_id=f"order-{order.id}",
                kind="call",
                title="Call",
                status="answered",
                created_at=now - timedelta(days=9),
            )
        )
        await session.commit()
    async with serve_api(create_app(settings, temporal=dev_env.client)) as api:
        page = samples((await api.get("/metrics")).text)
    assert [
        value(page, "chaser_open_tasks", kind="call", age=age)
        for age in ("under_1h", "1h_to_1d", "1d_to_3d", "over_3d")
    ] == [1, 1, 1, 2]
    assert value(page, "chaser_orders", status="new") == 1


async def test_webhook_deliveries_by_status(
    settings: Settings, sessions: Sessions, dev_env: WorkflowEnvironment
) -> None:
    now = datetime.now(UTC)
    statuses = ("pending", "pending", "failed", "delivered")
    async with sessions() as session:
        session.add(WebhookEndpoint(id="shop", url="http://shop.test/", secret="s", created_at=now))
        session.add_all(
            WebhookEvent(seq=seq, id=f"msg_{seq}", type="order.paid", subject="o", occurred_at=now)
            for seq in range(1, len(statuses) + 1)
        )
        await session.flush()  # the deliveries point at both
        session.add_all(
            WebhookDelivery(
                event_seq=seq,
                endpoint_id="shop",
                status=status,
                next_attempt_at=now,
                give_up_at=now + timedelta(days=1),
                created_at=now,
            )
            for seq, status in enumerate(statuses, start=1)
        )
        await session.commit()
    async with serve_api(create_app(settings, temporal=dev_env.client)) as api:
        page = samples((await api.get("/metrics")).text)
    counts = [
        value(page, "chaser_webhook_deliveries", status=s)
        for s in ("pending", "failed", "delivered")
    ]
    assert counts == [2, 1, 1]


async def test_running_chases_by_stage(
    settings: Settings, dev_env: WorkflowEnvironment, dev_worker: object, mailbox: Mailbox
) -> None:
    """From Temporal's visibility (ChaseStage): a new chase waits in its grace; one that ended
    is not running. Chases other tests left on the shared server count too, so the change is
    what is checked."""

    async def in_grace(api: httpx.AsyncClient) -> float:
        page = samples((await api.get("/metrics")).text)
        return sum(
            v for (n, ls), v in page.items() if ("stage", "grace") in ls and n == "chaser_chases"
        )

    async with serve_api(create_app(settings, temporal=dev_env.client)) as api:
        before = await in_grace(api)
        # Ids no other test's chase on the shared dev server has (a chase left running under
        # the same id would be joined, not started).
        orders = [f"STAGE-{uuid.uuid4().hex[:8]}" for _ in range(2)]
        paying = orders[1]
        for order in orders:
            body = order_body(order, customer={"name": "Anna", "email": f"{order}@example.com"})
            created = await api.post("/v1/orders", json=body, headers=backend_auth(settings))
            assert created.status_code == 201, created.text
        await mailbox.wait_for(2)
        paid = await api.post(
            f"/v1/orders/{paying}/events",
            json={"event_id": f"pay-{paying}", "type": "paid"},
            headers=backend_auth(settings),
        )
        assert paid.status_code == 202, paid.text
        await mailbox.wait_for(3)  # the thank-you: the paid chase has ended
        for _ in range(100):  # visibility follows a moment after the upsert
            if await in_grace(api) == before + 1:
                break
            await asyncio.sleep(0.05)
        assert await in_grace(api) == before + 1
