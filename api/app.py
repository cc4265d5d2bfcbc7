"""The FastAPI app factory: Temporal and the database are connected once, in the lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from temporalio.client import Client

from api.deps import Clock, system_clock
from api.errors import install_error_handlers
from api.metrics import install_metrics
from api.request_log import install_request_log
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
from temporal_client import connect_with_retry


def create_app(
    settings: Settings, temporal: Client | None = None, clock: Clock = system_clock
) -> FastAPI:
    """Build the app; a test hands in its own settings, a connected client and a clock."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app.state.settings = settings
        app.state.clock = clock
        app.state.sessions = make_sessions(engine)
        app.state.temporal = temporal
        # The API serves while Temporal is down: routes that need it answer 503 until then.
        connecting = None if temporal else asyncio.create_task(_connect(app, settings))
        try:
            yield
        finally:
            if connecting is not None:
                connecting.cancel()
                with suppress(asyncio.CancelledError):
                    await connecting
            await engine.dispose()

    app = FastAPI(title="chaser", version="1", lifespan=lifespan)
    install_error_handlers(app)
    install_metrics(app)
    install_request_log(app)
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


async def _connect(app: FastAPI, settings: Settings) -> None:
    app.state.temporal = await connect_with_retry(settings)
