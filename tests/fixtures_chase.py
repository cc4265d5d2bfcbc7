"""Fixtures the chase tests share (registered in tests/conftest.py): a walk through the HTTP API,
and an order whose chase has just started, both on the time-skipping server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from db.models import Order
from db.session import Sessions
from settings import Settings
from tests.factories import make_order, start_order_chase
from tests.mailbox import Mailbox
from tests.walk import Walk
from workflows.messages import OrderChaseResult
from workflows.order_chase import OrderChase


@pytest.fixture
async def walk(ts_api: httpx.AsyncClient, ts_env: WorkflowEnvironment, settings: Settings) -> Walk:
    return Walk(ts_api, ts_env, settings)


@dataclass(frozen=True)
class Chase:
    order: Order
    handle: WorkflowHandle[OrderChase, OrderChaseResult]
    started: datetime  # by the time-skipping server's clock


@pytest.fixture
async def chase(
    ts_env: WorkflowEnvironment,
    ts_worker: Worker,
    sessions: Sessions,
    settings: Settings,
    mailbox: Mailbox,  # emptied before the chase sends its first email
) -> Chase:
    """Anna's order of "Python for analysts" (tests/factories.py), its chase just started."""
    order = await make_order(sessions)
    handle = await start_order_chase(ts_env.client, settings, order)
    return Chase(order, handle, (await handle.describe()).start_time)
