"""Subscription renewals (issue 15, step 4), path by path with the real durations under time
skipping: the backend and the managers act through the HTTP API, the worker runs the real
activities against the real database and SMTP server."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import WorkflowExecutionDescription, WorkflowExecutionStatus

from db.models import Email
from db.session import Sessions
from scripts.devstack.mailbox import Mailbox, SmtpServer
from scripts.devstack.walk import Walk
from tests.factories import make_order

PRODUCT = {"id": "club-python", "name": "Python club"}


@pytest.fixture
async def walk(walk: Walk) -> Walk:
    await walk.manager("olga")
    return walk


async def subscribe(
    walk: Walk, subscription_id: str, ends_in: timedelta, **fields: Any
) -> httpx.Response:
    ends = await walk.now() + ends_in
    return await walk.api.post(
        "/v1/subscriptions",
        json={
            "id": subscription_id,
            "product": PRODUCT,
            "price": "990.00",
            "currency": "RUB",
            "customer": {"name": "Anna Petrova", "email": "anna@example.com"},
            "period_ends_at": ends.isoformat(),
            **fields,
        },
        headers=walk.backend,
    )


async def event(walk: Walk, subscription_id: str, event_id: str, type: str, **fields: Any) -> Any:
    return await walk.api.post(
        f"/v1/subscriptions/{subscription_id}/events",
        json={"event_id": event_id, "type": type, **fields},
        headers=walk.backend,
    )


async def subscription(walk: Walk, subscription_id: str) -> dict[str, Any]:
    response = await walk.api.get(f"/v1/subscriptions/{subscription_id}", headers=walk.backend)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def renewal_call(walk: Walk, subscription_id: str, manager: str = "olga") -> dict[str, Any]:
    """The subscription's open renewal call task, once the workflow has opened it."""
    for _ in range(400):
        response = await walk.api.get(
            "/v1/tasks",
            params={"subscription_id": subscription_id, "kind": "renewal_call"},
            headers=walk.managers[manager],
        )
        assert response.status_code == 200, response.text
        if response.json():
            return response.json()[0]  # type: ignore[no-any-return]
        await asyncio.sleep(0.025)
    raise AssertionError(f"no renewal call for subscription {subscription_id}")


async def reminders(sessions: Sessions, subscription_id: str) -> list[Email]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Email)
            .where(Email.subscription_id == subscription_id, Email.status == "sent")
            .order_by(Email.created_at)
        )
        return list(rows)


async def next_run(walk: Walk, workflow_id: str, run_id: str) -> WorkflowExecutionDescription:
    """The workflow's run after `run_id`, once it has continued as new and settled."""
    handle = walk.env.client.get_workflow_handle(workflow_id)
    for _ in range(400):
        described = await handle.describe()
        if described.run_id != run_id and not described.raw_description.pending_activities:
            return described
        await asyncio.sleep(0.025)
    raise AssertionError(f"{workflow_id} did not continue as new")


async def settled(walk: Walk, subscription_id: str, **expected: Any) -> dict[str, Any]:
    """Wait (briefly, in real time) for the subscription's row to show `expected`."""
    for _ in range(400):
        current = await subscription(walk, subscription_id)
        if all(current[key] == value for key, value in expected.items()):
            return current
        await asyncio.sleep(0.025)
    raise AssertionError(f"subscription {subscription_id} is {current}, expected {expected}")


async def renewal_link(walk: Walk, token: str) -> dict[str, Any]:
    """What the shop's renewal page hears of a link's token."""
    response = await walk.api.post(
        "/v1/pay-links/verify-renewal", json={"token": token}, headers=walk.backend
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_reminders_a_call_for_the_seller_then_renewed_continues_as_new(
    walk: Walk, sessions: Sessions, mailbox: Mailbox
) -> None:
    # Olga sold this customer a course: the renewal call is hers.
    await make_order(
        sessions, status="paid", assignee_id="olga", ended_at=await walk.now(), outcome="positive"
    )
    created = await subscribe(walk, "S-1", timedelta(days=10))
    assert created.status_code == 201, created.text
    assert (await subscribe(walk, "S-1", timedelta(days=10))).status_code == 200  # no second
    ends = datetime.fromisoformat(created.json()["period_ends_at"])

    await walk.skip(days=3, minutes=1)  # 7 days before the end
    [notice] = await mailbox.wait_for(1)
    assert "Python club" in notice["Subject"]
    plain = notice.get_body(("plain",))
    assert plain is not None
    text = plain.get_content()
    [token] = re.findall(r"http://chaser\.test/renew/S-1\?token=(\S+)", text)
    assert await renewal_link(walk, token) == {
        "subscription_id": "S-1",
        "subscription_status": "active",
        "period": 1,
        "price": "990.00",
        "currency": "RUB",
        "current": True,
    }
    sent = await reminders(sessions, "S-1")
    assert [e.kind for e in sent] == ["renewal_reminder"]
    # Due 7 days before the end (the worker's own work takes a moment of server time).
    assert timedelta(0) <= sent[0].created_at - (ends - timedelta(days=7)) < timedelta(seconds=5)

    await walk.skip(days=4)  # 3 days before the end: the call, for the seller
    call = await renewal_call(walk, "S-1")
    assert call["assignee_id"] == "olga" and call["subscription_id"] == "S-1"
    assert call["options"] == ["renewing", "declined", "no_answer"]
    assert "Python club" in call["call_script"]
    assert (await subscription(walk, "S-1"))["process"]["call_task_id"] == call["id"]
    await walk.answered("olga", call, "renewing")

    await walk.skip(days=2)  # 1 day before: the second reminder
    await mailbox.wait_for(2)
    old_run = await walk.env.client.get_workflow_handle("renewal-S-1").describe()
    renewed = await event(
        walk, "S-1", "ev-1", "renewed", period_ends_at=(ends + timedelta(days=30)).isoformat()
    )
    assert renewed.status_code == 202 and renewed.json()["duplicate"] is False
    again = await event(
        walk, "S-1", "ev-1", "renewed", period_ends_at=(ends + timedelta(days=30)).isoformat()
    )
    assert again.status_code == 202 and again.json()["duplicate"] is True

    # Described, not queried, until the next run is there: a query racing the continue-as-new
    # can hold the time-skipping server's clock.
    new_run = await next_run(walk, "renewal-S-1", old_run.run_id)
    assert new_run.status == WorkflowExecutionStatus.RUNNING
    current = await subscription(walk, "S-1")
    assert (current["status"], current["period"]) == ("active", 2)
    assert (await renewal_link(walk, token))["current"] is False  # period 1 is paid for
    assert [(p["period"], p["outcome"], p["call_answer"]) for p in current["periods"]] == [
        (1, "renewed", "renewing")
    ]

    # Period 2 has its own reminders: 7 days before its end.
    await walk.skip(days=24, hours=1)
    await mailbox.wait_for(3)
    assert len(await reminders(sessions, "S-1")) == 3

    history = await walk.api.get("/v1/subscriptions/S-1/history", headers=walk.backend)
    kinds = [line["kind"] for line in history.json()]
    assert kinds.count("email_sent") == 3 and "period_ended" in kinds


async def test_no_renewal_by_the_end_lapses_then_a_late_renewal_follows_the_next_period(
    walk: Walk, sessions: Sessions, mailbox: Mailbox
) -> None:
    assert (await subscribe(walk, "S-2", timedelta(days=5))).status_code == 201
    await walk.skip(days=2, minutes=1)  # 3 days before: no seller, so the pool calls
    call = await renewal_call(walk, "S-2")
    assert call["assignee_id"] is None
    await walk.answered("olga", call, "no_answer")

    await walk.skip(days=3)
    lapsed = await settled(walk, "S-2", status="lapsed")
    assert [(p["outcome"], p["call_answer"]) for p in lapsed["periods"]] == [
        ("lapsed", "no_answer")
    ]
    assert len(await reminders(sessions, "S-2")) == 1  # the 7-day one was already past
    handle = walk.env.client.get_workflow_handle("renewal-S-2")
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

    # Money wins: a renewal after the lapse follows the new period.
    late_end = await walk.now() + timedelta(days=30)
    late = await event(walk, "S-2", "ev-late", "renewed", period_ends_at=late_end.isoformat())
    assert late.status_code == 202
    revived = await settled(walk, "S-2", status="active", period=2)
    assert revived["process"] is not None
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING


async def test_declined_stops_the_reminders_and_cancelled_ends_the_period(
    walk: Walk, sessions: Sessions, mailbox: Mailbox
) -> None:
    assert (await subscribe(walk, "S-3", timedelta(days=10))).status_code == 201
    await walk.skip(days=7, minutes=1)
    await mailbox.wait_for(1)
    await walk.answered("olga", await renewal_call(walk, "S-3"), "declined")
    await walk.skip(days=2)  # the 1-day reminder is not sent after a refusal
    assert len(await reminders(sessions, "S-3")) == 1

    assert (await event(walk, "S-3", "ev-c", "cancelled")).status_code == 202
    cancelled = await settled(walk, "S-3", status="cancelled")
    for _ in range(400):
        cancelled = await subscription(walk, "S-3")
        if cancelled["periods"]:
            break
        await asyncio.sleep(0.025)
    assert [(p["outcome"], p["call_answer"]) for p in cancelled["periods"]] == [
        ("cancelled", "declined")
    ]
    refused = await event(walk, "S-3", "ev-c2", "cancelled")
    assert refused.status_code == 409 and "cancelled" in refused.json()["detail"]


async def test_a_changed_period_end_moves_the_reminders_and_the_call(
    walk: Walk, sessions: Sessions, mailbox: Mailbox
) -> None:
    assert (await subscribe(walk, "S-4", timedelta(days=10))).status_code == 201
    ends = datetime.fromisoformat((await subscription(walk, "S-4"))["period_ends_at"])
    later = ends + timedelta(days=10)
    changed = await event(walk, "S-4", "ev-p", "period_changed", period_ends_at=later.isoformat())
    assert changed.status_code == 202
    await walk.skip(days=4)  # past the old 7-day mark: nothing
    assert await reminders(sessions, "S-4") == []
    process = (await subscription(walk, "S-4"))["process"]
    assert process["next_step"] == "notice:7"
    assert datetime.fromisoformat(process["next_step_at"]) == later - timedelta(days=7)

    await walk.skip(days=9, minutes=1)  # the new 7-day mark
    await mailbox.wait_for(1)
    assert len(await reminders(sessions, "S-4")) == 1


async def test_bad_input_is_refused_and_changes_nothing(walk: Walk) -> None:
    past = await subscribe(walk, "S-5", timedelta(days=-1))
    assert past.status_code == 422 and "past" in past.json()["detail"]
    far = await subscribe(walk, "S-5", timedelta(days=5000))
    assert far.status_code == 422 and "3 years" in far.json()["detail"]
    nobody = await subscribe(walk, "S-5", timedelta(days=9), assignee_id="nobody")
    assert nobody.status_code == 422 and "nobody" in nobody.json()["detail"]
    missing = await walk.api.get("/v1/subscriptions/S-5", headers=walk.backend)
    assert missing.status_code == 404

    assert (await subscribe(walk, "S-5", timedelta(days=9))).status_code == 201
    no_end = await event(walk, "S-5", "ev-1", "renewed")
    assert no_end.status_code == 422 and "period_ends_at" in no_end.json()["detail"]
    ends = datetime.fromisoformat((await subscription(walk, "S-5"))["period_ends_at"])
    earlier = await event(
        walk, "S-5", "ev-1", "renewed", period_ends_at=(ends - timedelta(days=1)).isoformat()
    )
    assert earlier.status_code == 422
    unknown = await event(walk, "S-9", "ev-1", "cancelled")
    assert unknown.status_code == 404
    manager = await walk.api.post(
        "/v1/subscriptions/S-5/events",
        json={"event_id": "ev-2", "type": "cancelled"},
        headers=walk.managers["olga"],
    )
    assert manager.status_code == 403
    after = await subscription(walk, "S-5")
    assert (after["status"], after["period"]) == ("active", 1)
    history = await walk.api.get("/v1/subscriptions/S-5/history", headers=walk.backend)
    assert [line["kind"] for line in history.json()] == ["subscription_created"]


async def test_a_refused_reminder_leaves_the_call_and_the_period_going(
    walk: Walk, sessions: Sessions, smtp_server: SmtpServer
) -> None:
    with smtp_server.refusing("gone@example.com"):
        created = await subscribe(
            walk,
            "S-6",
            timedelta(days=8),
            customer={"name": "Anna Petrova", "email": "gone@example.com"},
        )
        assert created.status_code == 201, created.text
        await walk.skip(days=1, minutes=1)  # the 7-day reminder: refused for good
        await walk.skip(days=4)
        call = await renewal_call(walk, "S-6")  # the call opens all the same
        await walk.answered("olga", call, "no_answer")
        await walk.skip(days=3)
        lapsed = await settled(walk, "S-6", status="lapsed")
        assert [p["outcome"] for p in lapsed["periods"]] == ["lapsed"]
        history = await walk.api.get("/v1/subscriptions/S-6/history", headers=walk.backend)
        assert "email_failed" in [line["kind"] for line in history.json()]


async def test_the_renewal_call_waits_for_the_manager_s_working_hours(walk: Walk) -> None:
    moscow = ZoneInfo("Europe/Moscow")
    await walk.manager("nina", timezone="Europe/Moscow", working_hours="Mon-Fri 09:00-19:00")
    # The period ends on a Tuesday at noon: three days before is a Saturday.
    ends = await walk.next_weekday(1, time(12, 0), moscow) + timedelta(weeks=1)
    created = await walk.api.post(
        "/v1/subscriptions",
        json={
            "id": "S-8",
            "product": PRODUCT,
            "price": "990.00",
            "currency": "RUB",
            "customer": {"name": "Anna Petrova", "email": "anna@example.com"},
            "period_ends_at": ends.isoformat(),
            "assignee_id": "nina",
        },
        headers=walk.backend,
    )
    assert created.status_code == 201, created.text
    await walk.skip_to(ends - timedelta(days=3, minutes=-1))  # Saturday 12:01: nobody works
    response = await walk.api.get(
        "/v1/tasks", params={"subscription_id": "S-8"}, headers=walk.managers["nina"]
    )
    assert response.json() == []
    monday = (ends - timedelta(days=1)).replace(hour=9)
    await walk.skip_to(monday + timedelta(minutes=1))
    call = await renewal_call(walk, "S-8", manager="nina")
    assert call["assignee_id"] == "nina"
    assert datetime.fromisoformat(call["created_at"]).astimezone(moscow) - monday < timedelta(
        seconds=5
    )
