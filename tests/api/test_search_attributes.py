"""The questions operators ask the Temporal UI, answered by the search attributes the chases
keep (README: "Finding chases in the Temporal UI"), on the dev server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from scripts.devstack.walk import Walk, backend_auth
from settings import Settings
from tests.api.test_leads import LEAD, post_event
from tests.api.test_orders import order_body

# The grace minute is 60 ms; the payment window 43 minutes.
TIME_SCALE = 0.001


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"chaser_time_scale": TIME_SCALE})


async def found(
    env: WorkflowEnvironment, settings: Settings, query: str, expected: list[str]
) -> None:
    """Wait for visibility (it trails the history a little) to list exactly `expected`."""
    ours = f"TaskQueue='{settings.temporal_task_queue}' AND ({query})"
    ids: list[str] = []
    for _ in range(200):
        ids = sorted([w.id async for w in env.client.list_workflows(ours)])
        if ids == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{query}: found {ids}, expected {expected}")


async def test_olgas_orders_waiting_for_a_payment_date_and_big_unpaid_orders(
    api: httpx.AsyncClient, dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    walk = Walk(api, dev_env, settings)
    await walk.manager("olga")
    await walk.manager("ivan")
    await walk.create_order("S-1")
    big = await api.post(
        "/v1/orders", json=order_body("S-2", amount="15000.00"), headers=backend_auth(settings)
    )
    assert big.status_code == 201, big.text

    await walk.answered("olga", await walk.task("olga", "S-1", "take_order"), "yes")
    await walk.answered("ivan", await walk.task("ivan", "S-2", "take_order"), "yes")
    await walk.answered("olga", await walk.task("olga", "S-1", "call"), "reached")
    await walk.answered("olga", await walk.task("olga", "S-1", "will_pay"), "yes")
    at = (datetime.now(UTC) + timedelta(minutes=20)).isoformat()
    await walk.answered("olga", await walk.task("olga", "S-1", "payment_date"), "at", at=at)

    await found(
        dev_env,
        settings,
        "AssigneeId='olga' AND ChaseStage='awaiting_payment_date'",
        ["order-S-1"],
    )
    await found(dev_env, settings, "OrderStatus='payment_pending'", ["order-S-1"])
    await found(
        dev_env, settings, "OrderAmount > 10000 AND ExecutionStatus='Running'", ["order-S-2"]
    )
    await found(dev_env, settings, "AssigneeId='ivan'", ["order-S-2"])
    await found(dev_env, settings, "ProductId='course-python'", ["order-S-1", "order-S-2"])

    assert (await walk.event("S-1", "pay-S-1", "paid")).status_code == 202
    await found(dev_env, settings, "OrderStatus='paid' AND ChaseStage='finished'", ["order-S-1"])


async def test_a_leads_chase_is_found_by_its_manager_and_status(
    api: httpx.AsyncClient, dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    await Walk(api, dev_env, settings).manager("olga")
    chasing = await post_event(
        api, settings, "L-7", event_id="e-1", type="status_changed", status="Chasing", lead=LEAD
    )
    assert chasing.status_code == 202
    await found(dev_env, settings, "LeadStatus='chasing' AND AssigneeId='olga'", ["lead-L-7"])
    replied = await post_event(api, settings, "L-7", event_id="e-2", type="replied")
    assert replied.status_code == 202
    await found(dev_env, settings, "LeadStatus='replied'", ["lead-L-7"])
