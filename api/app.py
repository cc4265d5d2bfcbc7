"""The FastAPI app factory: Temporal and the database are connected once, in the lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from temporalio.client import Client, Interceptor

from api.deps import Clock, system_clock
from api.errors import install_error_handlers, responses
from api.limits import BodyLimit
from api.metrics import install_metrics
from api.redelivery import keep_redelivering
from api.request_log import install_request_log
from api.routes import (
    calls,
    enrollments,
    health,
    leads,
    managers,
    notifications,
    orders,
    pay_links,
    reports,
    subscriptions,
    suppressions,
    tasks,
    tracking,
    unsubscribe,
    webhooks,
)
from api.web.mount import install_web
from db.session import make_engine, make_sessions
from settings import Settings
from temporal_client import connect_with_retry
from tracing import temporal_interceptors, trace_requests, tracer_provider


def create_app(
    settings: Settings,
    temporal: Client | None = None,
    clock: Clock = system_clock,
    tracer: TracerProvider | None = None,
) -> FastAPI:
    """Build the app; a test hands in its own settings, a connected client, a clock and a
    tracer provider (otherwise OTEL_EXPORTER_OTLP_ENDPOINT decides: tracing.py)."""
    tracer = tracer or tracer_provider(settings, "chaser-api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.check_secrets()
        engine = make_engine(settings.database_url)
        app.state.settings = settings
        app.state.clock = clock
        app.state.sessions = make_sessions(engine)
        app.state.temporal = temporal
        # The API serves while Temporal is down: routes that need it answer 503 until then.
        background = asyncio.create_task(
            _connect_then_redeliver(app, settings, clock, temporal_interceptors(tracer))
        )
        try:
            yield
        finally:
            background.cancel()
            with suppress(asyncio.CancelledError):
                await background
            if tracer is not None:
                tracer.shutdown()  # the spans still batched go out
            await engine.dispose()

    # Every route may answer these: no or a wrong token, a body too large or malformed,
    # Temporal out of reach. Routes add their own (404, 409) where they can happen.
    app = FastAPI(
        title="chaser",
        version="1",
        lifespan=lifespan,
        responses=responses(401, 403, 413, 422, 503),
    )
    app.add_middleware(BodyLimit)
    install_error_handlers(app)
    install_request_log(app, install_metrics(app))
    trace_requests(app, tracer)
    app.include_router(health.router)
    app.include_router(managers.router)
    app.include_router(orders.router)
    app.include_router(enrollments.router)
    app.include_router(subscriptions.router)
    app.include_router(leads.router)
    app.include_router(notifications.router)
    app.include_router(pay_links.router)
    app.include_router(tracking.router)
    app.include_router(tasks.router)
    app.include_router(calls.router)
    app.include_router(reports.router)
    app.include_router(webhooks.router)
    app.include_router(suppressions.router)
    app.include_router(unsubscribe.router)
    install_web(app)
    return app


async def _connect_then_redeliver(
    app: FastAPI, settings: Settings, clock: Clock, interceptors: Sequence[Interceptor]
) -> None:
    """Connect (retrying while Temporal is down), then deliver owed signals for good."""
    if app.state.temporal is None:
        app.state.temporal = await connect_with_retry(settings, interceptors=interceptors)
    await keep_redelivering(app.state.sessions, app.state.temporal, settings, clock)
