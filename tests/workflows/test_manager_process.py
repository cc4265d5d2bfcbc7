"""SPEC §1 C, path by path, with the real durations under time skipping: the backend and the
managers act through the HTTP API, the worker runs the real activities."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from db.session import Sessions
from settings import Settings
from tests.factories import outbox
from tests.mailbox import Mailbox
from tests.walk import Walk, when


@pytest.fixture
async def walk(ts_api: httpx.AsyncClient, ts_env: WorkflowEnvironment, settings: Settings) -> Walk:
    walk = Walk(ts_api, ts_env, settings)
    await walk.manager("olga")
    await walk.manager("ivan")
    return walk


async def take(walk: Walk, order_id: str, manager: str = "olga") -> None:
    """Past the grace minute, `manager` takes the order from the pool."""
    await walk.skip(minutes=1)
    task = await walk.task(manager, order_id, "take_order")
    assert task["assignee_id"] is None and task["options"] == ["yes", "duplicate"]
    await walk.answered(manager, task, "yes")


async def sent_kinds(sessions: Sessions, order_id: str) -> list[str]:
    return [e.kind for e in await outbox(sessions, order_id) if e.status == "sent"]


async def test_duplicate_at_take_marks_the_order_false(walk: Walk, sessions: Sessions) -> None:
    await walk.create_order("D-1")
    assert await walk.tasks("olga", "D-1") == []  # the grace minute: nothing yet
    await walk.skip(minutes=1)
    task = await walk.task("ivan", "D-1", "take_order")
    await walk.answered("ivan", task, "duplicate")

    order = await walk.status("D-1", "false")
    assert (order["outcome"], order["end_reason"], order["assignee_id"]) == (
        "neutral", "duplicate", None,
    )
    assert await walk.tasks("olga", "D-1") == []
    assert await sent_kinds(sessions, "D-1") == ["order_received"]


async def test_no_phone_then_a_phone_on_day_3_starts_the_dial(
    walk: Walk, sessions: Sessions, mailbox: Mailbox
) -> None:
    await walk.create_order("P-1", phone=None)
    await take(walk, "P-1")
    assert (await walk.status("P-1", "not_confirmed"))["assignee_id"] == "olga"
    ask = await walk.task("olga", "P-1", "ask_phone")
    assert ask["assignee_id"] == "olga" and ask["options"] == ["send", "skip"]
    await walk.answered("olga", ask, "send")

    await walk.skip(days=3)
    assert "ask_phone" in await sent_kinds(sessions, "P-1")
    assert (await walk.event("P-1", "ph-1", "phone_changed", phone="+79005554433")).status_code == 202

    call = await walk.task("olga", "P-1", "call")
    assert call["assignee_id"] == "olga"
    assert "Python for analysts" in call["call_script"]
    assert call["options"] == ["reached", "no_answer", "wrong_number", "duplicate"]
    order = await walk.order("P-1")
    assert order["customer"]["phone"] == "+79005554433"
    assert order["process"]["stage"] == "dialing"
    assert order["process"]["dial"] == {
        "workflow_id": "order-P-1-dial-1", "day": 1, "call": 0, "attempts": 0, "outcome": None,
    }


async def test_no_phone_ever_goes_pending_after_5_days_and_cancels_3_days_later(
    walk: Walk, sessions: Sessions
) -> None:
    await walk.create_order("P-2", phone=None)
    await take(walk, "P-2")
    ask = await walk.task("olga", "P-2", "ask_phone")
    await walk.answered("olga", ask, "skip")
    answered = await walk.now()

    await walk.skip(days=5)
    await walk.status("P-2", "pending")
    await walk.skip(days=3)
    order = await walk.status("P-2", "cancelled")
    assert (order["outcome"], order["end_reason"]) == ("negative", "no_phone")
    ended = order["ended_at"]
    from datetime import datetime

    assert abs(datetime.fromisoformat(ended) - answered - timedelta(days=8)) < timedelta(seconds=5)
    assert "ask_phone" not in await sent_kinds(sessions, "P-2")  # the manager skipped it
