"""Fixtures the chase tests share (registered in tests/conftest.py): a walk through the HTTP API,
and order chases started on the time-skipping server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from db.models import Order
from db.session import Sessions
from scripts.devstack.mailbox import Mailbox
from scripts.devstack.walk import Walk
from settings import Settings
from tests.factories import make_order, start_order_chase
from timings import OrderTimings
from workflows.messages import OrderChaseResult
from workflows.order_chase import OrderChase


@pytest.fixture
async def walk(ts_api: httpx.AsyncClient, ts_env: WorkflowEnvironment, settings: Settings) -> Walk:
    return Walk(ts_api, ts_env, settings)


@pytest.fixture
async def dev_walk(
    api: httpx.AsyncClient, dev_env: WorkflowEnvironment, settings: Settings
) -> Walk:
    """The same over the API on the dev server, in real time (it cannot skip)."""
    return Walk(api, dev_env, settings)


@dataclass(frozen=True)
class Chase:
    order: Order
    handle: WorkflowHandle[OrderChase, OrderChaseResult]
    started: datetime  # by the time-skipping server's clock


@dataclass(frozen=True)
class Chases:
    """Starts order chases on the time-skipping server, where the test's worker runs them."""

    env: WorkflowEnvironment
    sessions: Sessions
    settings: Settings

    async def start(self, timings: OrderTimings | None = None, **order: Any) -> Chase:
        """A new order (make_order's, with these fields) and its chase; `timings` replaces
        the settings' ones."""
        made = await make_order(self.sessions, **order)
        handle = await start_order_chase(self.env.client, self.settings, made, timings)
        return Chase(made, handle, (await handle.describe()).start_time)


@pytest.fixture
def chases(
    ts_env: WorkflowEnvironment,
    ts_worker: Worker,
    sessions: Sessions,
    settings: Settings,
    mailbox: Mailbox,  # emptied before a chase sends its first email
) -> Chases:
    return Chases(ts_env, sessions, settings)


@pytest.fixture
async def chase(chases: Chases) -> Chase:
    """Anna's order of "Python for analysts" (tests/factories.py), its chase just started."""
    return await chases.start()
