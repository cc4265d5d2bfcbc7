"""Email that respects people, over real HTTP on the time-skipping server with the real SMTP
server: a one-click unsubscribe stops the cadence while the thank-you still goes; a bounced
address asks a manager and an `email_changed` event sends the next emails to the new one."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from db.models import WebhookEvent
from db.session import Sessions
from scripts.devstack.mailbox import Mailbox, SmtpServer
from scripts.devstack.walk import Walk, backend_auth
from settings import Settings
from tests.factories import history


async def event_types(sessions: Sessions, order_id: str) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(WebhookEvent.type)
            .where(WebhookEvent.subject == f"order:{order_id}")
            .order_by(WebhookEvent.seq)
        )
        return list(rows)


async def test_one_click_unsubscribe_stops_the_cadence_but_not_the_thank_you(
    walk: Walk, sessions: Sessions, mailbox: Mailbox
) -> None:
    order_id = f"U-{uuid.uuid4().hex[:8]}"
    await walk.create_order(order_id, phone=None)
    await walk.skip(days=2, hours=1)
    [objection] = [m for m in mailbox.messages if "will change" in str(m["Subject"])]
    assert objection["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = str(objection["List-Unsubscribe"]).split(",")[0].strip("<> ")
    path = urlsplit(link).path

    page = await walk.api.get(path)  # what a person sees: a button, nothing done yet
    assert page.status_code == 200 and '<form method="post">' in page.text
    assert "anna@example.com" in page.text
    assert "unsubscribed" not in await walk.history_kinds(order_id)

    done = await walk.api.post(path, content=b"List-Unsubscribe=One-Click")  # RFC 8058, no auth
    assert done.status_code == 200 and "no more marketing emails" in done.text
    assert (await walk.api.post(path)).status_code == 200  # twice is harmless
    assert (await walk.api.post(path.replace("/u/", "/u/x"))).status_code == 422
    suppressions = (await walk.api.get("/v1/suppressions", headers=walk.backend)).json()
    assert [(s["email"], s["reason"]) for s in suppressions] == [
        ("anna@example.com", "unsubscribed")
    ]
    assert (await walk.history_kinds(order_id)).count("unsubscribed") == 1
    assert "email.unsubscribed" in await event_types(sessions, order_id)

    # The cadence has stopped: no second objection, not even a suppressed one, for days.
    sent_before = len(mailbox.messages)
    await walk.skip(days=6)
    assert len(mailbox.messages) == sent_before
    kinds = await walk.history_kinds(order_id)
    assert "email_suppressed" not in kinds and "discount_granted" not in kinds
    # The manager process goes on: the order waits in the pool to be taken.
    await walk.manager("olga")
    assert [t["kind"] for t in await walk.tasks("olga", order_id)] == ["take_order"]

    # A payment still gets its thank-you, a transactional email.
    assert (await walk.event(order_id, "pay-1", "paid")).status_code == 202
    await walk.status(order_id, "paid")
    await walk.env.client.get_workflow_handle(f"order-{order_id}").result()  # thank-you sent
    assert mailbox.subjects()[-1] == "Thank you for your payment: Python for analysts"


async def test_a_bounced_address_asks_a_manager_and_a_new_address_gets_the_next_emails(
    walk: Walk, sessions: Sessions, smtp_server: SmtpServer, mailbox: Mailbox
) -> None:
    order_id = f"B-{uuid.uuid4().hex[:8]}"
    with smtp_server.refusing("anna@example.com"):  # the real server answers 550 for it
        await walk.create_order(order_id, phone=None)
        await walk.manager("olga")
        bounced = await walk.task("olga", order_id, "email_bounced")
    assert bounced["title"] == "Email bounced — check the address?"
    assert (bounced["options"], bounced["assignee_id"]) == (["fixed", "skip"], None)
    [failed] = [line for line in await history(sessions, order_id) if line.kind == "email_failed"]
    assert "550" in failed.detail["error"]
    assert "email.failed" in await event_types(sessions, order_id)
    suppressions = (await walk.api.get("/v1/suppressions", headers=walk.backend)).json()
    assert [(s["email"], s["reason"]) for s in suppressions] == [("anna@example.com", "bounced")]

    changed = await walk.event(order_id, "email-1", "email_changed", email="anna.p@example.com")
    assert changed.status_code == 202, changed.text
    assert (await walk.order(order_id))["customer"]["email"] == "anna.p@example.com"
    missing = await walk.event(order_id, "email-2", "email_changed")
    assert missing.status_code == 422
    await walk.answered("olga", bounced, "fixed")

    await walk.skip(days=2, hours=1)  # the first objection goes to the new address
    assert [str(m["Subject"]) for m in mailbox.to("anna.p@example.com")] == [
        'What "Python for analysts" will change for you'
    ]
    assert mailbox.to("anna@example.com") == []
    kinds = await walk.history_kinds(order_id)
    assert kinds.count("task_answered") == 1 and "email_suppressed" not in kinds


async def test_the_suppression_list_takes_the_backend_token(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    auth = backend_auth(settings)
    assert (await api.get("/v1/suppressions")).status_code == 401
    added = await api.post("/v1/suppressions", json={"email": "X@Example.com"}, headers=auth)
    assert added.status_code == 201 and added.json()["email"] == "x@example.com"
    again = await api.post(
        "/v1/suppressions", json={"email": "x@example.com", "reason": "bounced"}, headers=auth
    )
    assert again.status_code == 200 and again.json()["reason"] == "manual"
    bad = await api.post("/v1/suppressions", json={"email": "not an address"}, headers=auth)
    assert bad.status_code == 422
    assert (await api.delete("/v1/suppressions/x@example.com", headers=auth)).status_code == 204
    assert (await api.delete("/v1/suppressions/x@example.com", headers=auth)).status_code == 404
    assert (await api.get("/v1/suppressions", headers=auth)).json() == []
