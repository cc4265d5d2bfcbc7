"""`GET /metrics` for Prometheus: the API's requests (count and latency by route, method and
status), counters of what happens here (emails opened), and business gauges read at scrape
time: one query over indexed columns of the database, and the running order chases by stage
from Temporal's visibility store (its counts cannot group by a search attribute, so one count
per stage, all at once)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from sqlalchemy import String, case, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError

from api.deps import ClockDep, MaybeTemporalDep, SessionDep
from api.temporal import CALL_TIMEOUT
from db.models import Lead, Order, Task, WebhookDelivery
from domain import Stage, TaskKind, TaskStatus

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

# Open tasks by how long they have waited: (label, older than).
AGE_BUCKETS = (
    ("under_1h", timedelta(0)),
    ("1h_to_1d", timedelta(hours=1)),
    ("1d_to_3d", timedelta(days=1)),
    ("over_3d", timedelta(days=3)),
)


@dataclass(frozen=True)
class ApiMetrics:
    """The app's own registry (no process-wide global: each app, each test, has its own)."""

    registry: CollectorRegistry
    emails_opened: Counter
    requests: Counter
    latency: Histogram

    def answered(self, method: str, status: int, route: str | None, seconds: float) -> None:
        """A request answered (api.request_log.RequestLog, which sees each one): counted by
        method, exact status and route template (`none` when no route matched, so a scan of
        random paths adds no series), timed by template and method; /metrics left out."""
        handler = route or "none"
        if handler == "/metrics":
            return
        self.requests.labels(method, str(status), handler).inc()
        self.latency.labels(handler, method).observe(seconds)


def install_metrics(app: FastAPI) -> ApiMetrics:
    registry = CollectorRegistry()
    metrics = ApiMetrics(
        registry=registry,
        emails_opened=Counter(
            "chaser_emails_opened",
            "First opens of an email's tracking pixel, by email kind",
            ["kind"],
            registry=registry,
        ),
        requests=Counter(
            "http_requests_total",
            "Requests by method, status and route template",
            ["method", "status", "handler"],
            registry=registry,
        ),
        latency=Histogram(
            "http_request_duration_seconds",
            "Request latency by route template and method",
            ["handler", "method"],
            registry=registry,
        ),
    )
    app.state.metrics = metrics
    app.include_router(router)
    return metrics


async def get_metrics(request: Request) -> ApiMetrics:
    metrics: ApiMetrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(
    session: SessionDep, clock: ClockDep, temporal: MaybeTemporalDep, metrics: MetricsDep
) -> Response:
    """Prometheus text format; no token (keep the port inside, as for any exporter)."""
    gauges = CollectorRegistry()
    orders = Gauge("chaser_orders", "Orders by status", ["status"], registry=gauges)
    created = Gauge(
        "chaser_orders_created_last_hour", "Orders created in the last hour", registry=gauges
    )
    tasks = Gauge(
        "chaser_open_tasks", "Open manager tasks by kind and age", ["kind", "age"], registry=gauges
    )
    leads = Gauge("chaser_leads", "Leads by status", ["status"], registry=gauges)
    webhooks = Gauge(
        "chaser_webhook_deliveries", "Webhook deliveries by status", ["status"], registry=gauges
    )
    by_metric = {"orders": orders, "leads": leads, "webhooks": webhooks}
    for metric, label, age, count in await _business_counts(session, await clock()):
        if metric == "created":
            created.set(count)
        elif metric == "open_tasks":
            tasks.labels(kind=label, age=age).set(count)
        else:
            by_metric[metric].labels(status=label).set(count)
    chases = Gauge(
        "chaser_chases", "Running order chases by stage (ChaseStage)", ["stage"], registry=gauges
    )
    for stage, count in (await _chases_by_stage(temporal)).items():
        chases.labels(stage=stage).set(count)
    body = generate_latest(metrics.registry) + generate_latest(gauges)
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)


async def _business_counts(session: AsyncSession, now: datetime) -> list[tuple[str, str, str, int]]:
    """(metric, label, age bucket, count) rows: one round trip, each part on an index
    (orders.status, orders.created_at, tasks (status, created_at), leads.status,
    webhook_deliveries.status)."""
    none = literal("", String)
    age = case(
        *[(Task.created_at <= now - older, label) for label, older in reversed(AGE_BUCKETS[1:])],
        else_=AGE_BUCKETS[0][0],
    )
    query = union_all(
        select(literal("orders", String), Order.status, none, func.count()).group_by(Order.status),
        select(literal("created", String), none, none, func.count()).where(
            Order.created_at > now - timedelta(hours=1)
        ),
        select(literal("open_tasks", String), Task.kind, age, func.count())
        .where(Task.status == TaskStatus.OPEN)
        .group_by(Task.kind, age),
        select(literal("leads", String), Lead.status, none, func.count()).group_by(Lead.status),
        select(literal("webhooks", String), WebhookDelivery.status, none, func.count()).group_by(
            WebhookDelivery.status
        ),
    )
    rows = await session.execute(query)
    return [(str(m), str(label), str(bucket), int(n)) for m, label, bucket, n in rows]


# A chase's stage is its own (Stage), or the kind of the task it waits on.
STAGES = tuple(Stage) + tuple(TaskKind)


async def _chases_by_stage(temporal: Client | None) -> dict[str, int]:
    """Running order chases per stage; none while Temporal is not there (the database's
    gauges still answer)."""
    if temporal is None:
        return {}
    running = "WorkflowType='OrderChase' AND ExecutionStatus='Running'"
    try:
        async with asyncio.timeout(CALL_TIMEOUT):  # a hung Temporal must not hang the scrape
            counts = await asyncio.gather(
                *(
                    temporal.count_workflows(f"{running} AND ChaseStage='{stage}'")
                    for stage in STAGES
                )
            )
    except (RPCError, TimeoutError) as error:
        logger.warning("chases by stage not counted: %s", error)
        return {}
    return {stage: count.count for stage, count in zip(STAGES, counts, strict=True) if count.count}
