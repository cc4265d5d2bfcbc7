"""The check-in after purchase (issue 15, step 5) with its real durations under time skipping:
an order paid through the API starts `checkin-<order_id>` for a product in CHECKIN_AFTER."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from db.session import Sessions
from scripts.devstack.mailbox import Mailbox
from scripts.devstack.walk import Walk
from settings import Settings
from tests.factories import outbox
from workflows.messages import CheckinResult


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Python for analysts gets a check-in 30 days after payment; other products none."""
    return settings.model_copy(update={"checkin_after": {"course-python": 30.0}})


@pytest.fixture
async def walk(walk: Walk) -> Walk:
    await walk.manager("olga")
    return walk


async def pay(walk: Walk, order_id: str) -> None:
    await walk.settled(order_id)
    assert (await walk.event(order_id, f"pay-{order_id}", "paid")).status_code == 202
    await walk.status(order_id, "paid")


async def checkin_started(walk: Walk, order_id: str) -> None:
    """Wait until the paid end's activity has started the check-in and the chase has closed."""
    handle = walk.env.client.get_workflow_handle(f"checkin-{order_id}")
    chase = walk.env.client.get_workflow_handle(f"order-{order_id}")
    for _ in range(400):
        try:
            await handle.describe()
            if (await chase.describe()).status != WorkflowExecutionStatus.RUNNING:
                return
        except RPCError:
            pass  # not started yet
        await asyncio.sleep(0.025)
    raise AssertionError(f"no check-in for order {order_id}")


async def test_thirty_days_after_payment_the_manager_asks_how_they_like_it(
    walk: Walk, sessions: Sessions, mailbox: Mailbox
) -> None:
    await walk.create_order("CHK-1")
    await walk.skip(minutes=1)
    take = await walk.task("olga", "CHK-1", "take_order")
    await walk.answered("olga", take, "yes")
    await walk.status("CHK-1", "in_progress")
    await pay(walk, "CHK-1")
    await checkin_started(walk, "CHK-1")
    paid_at = datetime.fromisoformat((await walk.order("CHK-1"))["ended_at"])

    await walk.skip(days=29)
    assert await walk.tasks("olga", "CHK-1", kind="checkin") == []
    await walk.skip(days=1, minutes=1)
    task = await walk.task("olga", "CHK-1", "checkin")
    assert task["assignee_id"] == "olga"  # the manager who took the order
    assert task["options"] == ["happy", "offer_accepted", "not_interested", "no_answer"]
    assert "Python for analysts" in task["call_script"]
    emails = [e for e in await outbox(sessions, "CHK-1") if e.kind == "checkin"]
    assert [e.status for e in emails] == ["sent"]
    assert timedelta(days=30) <= emails[0].created_at - paid_at < timedelta(days=30, seconds=5)

    await walk.answered("olga", task, "offer_accepted")
    result = await walk.env.client.get_workflow_handle(
        "checkin-CHK-1", result_type=CheckinResult
    ).result()
    assert result.answer == "offer_accepted"
    report = await walk.api.get("/v1/reports/outcomes", headers=walk.backend)
    checkins = report.json()["checkins"]
    assert checkins["total"] == {
        "checkins": 1,
        "open": 0,
        "answers": {"offer_accepted": 1},
        "offer_conversion": 1.0,
    }
    assert checkins["products"][0]["product_id"] == "course-python"
    kinds = await walk.history_kinds("CHK-1")
    assert kinds[-1] == "task_answered" and "task_created" in kinds


async def test_a_product_not_listed_gets_no_checkin_and_an_unanswered_one_is_counted_open(
    walk: Walk, mailbox: Mailbox
) -> None:
    await walk.create_order("CHK-2", product=("course-sql", "SQL basics"))
    await pay(walk, "CHK-2")
    await walk.create_order("CHK-3")
    await pay(walk, "CHK-3")  # nobody took it: the check-in goes to the pool
    await checkin_started(walk, "CHK-3")
    with pytest.raises(RPCError):
        await walk.env.client.get_workflow_handle("checkin-CHK-2").describe()

    await walk.skip(days=30, minutes=1)
    task = await walk.task("olga", "CHK-3", "checkin")
    assert task["assignee_id"] is None
    report = (await walk.api.get("/v1/reports/outcomes", headers=walk.backend)).json()
    assert report["checkins"]["total"]["open"] == 1
    refused = await walk.answer("olga", task, "maybe")
    assert refused.status_code == 422
    await walk.answered("olga", task, "happy")
    handle = walk.env.client.get_workflow_handle("checkin-CHK-3", result_type=CheckinResult)
    assert (await handle.result()).answer == "happy"


class TestWithoutTheEmail:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        """CHECKIN_EMAIL=false: the manager asks, the customer gets no email."""
        return settings.model_copy(update={"checkin_email": False})

    async def test_only_the_task_comes_and_not_interested_is_counted(
        self, walk: Walk, sessions: Sessions, mailbox: Mailbox
    ) -> None:
        await walk.create_order("CHK-4")
        await pay(walk, "CHK-4")
        await checkin_started(walk, "CHK-4")
        await walk.skip(days=30, minutes=1)
        task = await walk.task("olga", "CHK-4", "checkin")
        await walk.answered("olga", task, "not_interested")
        handle = walk.env.client.get_workflow_handle("checkin-CHK-4", result_type=CheckinResult)
        assert (await handle.result()).answer == "not_interested"
        assert [e.kind for e in await outbox(sessions, "CHK-4")] == ["order_received", "thank_you"]
        report = (await walk.api.get("/v1/reports/outcomes", headers=walk.backend)).json()
        assert report["checkins"]["total"]["answers"] == {"not_interested": 1}
        assert report["checkins"]["total"]["offer_conversion"] == 0.0
