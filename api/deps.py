"""Request dependencies: settings, the clock, a database session, the Temporal client (the four
together: Context), and who is calling.

Each is `async def` though none awaits much: FastAPI runs a plain `def` dependency on its
thread pool, a thread hop per dependency per request."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.errors import Forbidden, Unauthorized, Unavailable
from db.models import Manager
from settings import Settings


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


Clock = Callable[[], Awaitable[datetime]]


async def system_clock() -> datetime:
    return datetime.now(UTC)


async def get_clock(request: Request) -> Clock:
    """Now, as the API judges it; a time-skipping test hands in the test server's clock."""
    clock: Clock = request.app.state.clock
    return clock


async def get_temporal_if_connected(request: Request) -> Client | None:
    """The Temporal client, None while the API is still waiting for Temporal to come up."""
    client: Client | None = request.app.state.temporal
    return client


async def get_temporal(request: Request) -> Client:
    """The Temporal client; 503 while the API is still waiting for Temporal to come up."""
    client = await get_temporal_if_connected(request)
    if client is None:
        raise Unavailable("Temporal is not connected yet")
    return client


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
MaybeTemporalDep = Annotated[Client | None, Depends(get_temporal_if_connected)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]


@dataclass(frozen=True)
class Context:
    """What a route that changes something and tells a workflow of it works with."""

    session: AsyncSession
    temporal: Client
    settings: Settings
    clock: Clock


async def get_context(
    session: SessionDep, temporal: TemporalDep, settings: SettingsDep, clock: ClockDep
) -> Context:
    """A route lists it before the caller's token: without Temporal a request is a 503 whoever
    sends it."""
    return Context(session, temporal, settings, clock)


ContextDep = Annotated[Context, Depends(get_context)]

_bearer = HTTPBearer(auto_error=False)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Caller:
    """The backend (manager is None) or one manager."""

    manager: Manager | None


async def get_caller(
    settings: SettingsDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing bearer token")
    token = credentials.credentials
    if hmac.compare_digest(token.encode(), settings.backend_token.get_secret_value().encode()):
        return Caller(manager=None)
    manager = await session.scalar(select(Manager).where(Manager.token_hash == hash_token(token)))
    if manager is None:
        raise Unauthorized("unknown bearer token")
    if not manager.active:
        raise Forbidden(f"manager {manager.id!r} is deactivated")
    return Caller(manager=manager)


CallerDep = Annotated[Caller, Depends(get_caller)]


async def require_backend(caller: CallerDep) -> None:
    if caller.manager is not None:
        raise Forbidden("this route takes the backend token, not a manager's")


async def require_manager(caller: CallerDep) -> Manager:
    if caller.manager is None:
        raise Forbidden("this route takes a manager's token, not the backend's")
    return caller.manager


BackendDep = Annotated[None, Depends(require_backend)]
ManagerDep = Annotated[Manager, Depends(require_manager)]
