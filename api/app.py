"""The FastAPI app factory: Temporal and the database are connected once, in the lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from api.deps import Clock, system_clock
from api.errors import install_error_handlers, responses
from api.limits import BodyLimit
from api.redelivery import keep_redelivering
from api.routes import (
    calls,
    health,
    leads,
    managers,
    notifications,
    orders,
    pay_links,
    reports,
    tasks,
    tracking,
)
from db.session import make_engine, make_sessions
from settings import Settings


def create_app(
    settings: Settings, temporal: Client | None = None, clock: Clock = system_clock
) -> FastAPI:
    """Build the app; a test hands in its own settings, a connected client and a clock."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.check_secrets()
        engine = make_engine(settings.database_url)
        app.state.settings = settings
        app.state.clock = clock
        app.state.sessions = make_sessions(engine)
        app.state.temporal = temporal or await Client.connect(
            settings.temporal_address, namespace=settings.temporal_namespace
        )
        redelivery = asyncio.create_task(
            keep_redelivering(
                app.state.sessions, app.state.temporal, settings.temporal_task_queue, clock
            )
        )
        try:
            yield
        finally:
            redelivery.cancel()
            await asyncio.gather(redelivery, return_exceptions=True)
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
    app.include_router(health.router)
    app.include_router(managers.router)
    app.include_router(orders.router)
    app.include_router(leads.router)
    app.include_router(notifications.router)
    app.include_router(pay_links.router)
    app.include_router(tracking.router)
    app.include_router(tasks.router)
    app.include_router(calls.router)
    app.include_router(reports.router)
    return app
