"""Customer emails through the real SMTP backend: a server that is down or greylists, a
refused address, escaping, the stop after payment, and one copy per outbox key."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import ActivityEnvironment

from activities.emails import EmailActivities, OrderEmail
from activities.instalments import InstalmentActivities, PlanRequest
from db.models import OrderEvent, Suppression, Task
from db.session import Sessions
from db.suppressions import suppress
from mail.render import TEMPLATES_DIR
from mail.unsubscribe import unsubscribe_links
from scripts.devstack.mailbox import Mailbox, SmtpServer
from scripts.devstack.time_skipping import skip
from settings import Settings
from tests.factories import history, make_order, outbox
from tests.fixtures_chase import Chases
from worker import WorkerDeps


@pytest.fixture
def emails(deps: WorkerDeps) -> EmailActivities:
    return EmailActivities(deps.sessions, deps.mailer, deps.templates, deps.mail)


# The emails that tell of a discount; an instalment reminder tells of part 1 of a plan.
DISCOUNTED = frozenset({"personal_offer", "manager_discount"})


async def send(emails: EmailActivities, order_id: str, kind: str, key: str | None = None) -> str:
    """Run the real activity once, outside a workflow; returns the outbox status."""
    sent = await ActivityEnvironment().run(
        emails.send_order_email,
        OrderEmail(
            key=key or f"test-{order_id}:email:{kind}",
            order_id=order_id,
            kind=kind,
            at=datetime.now(UTC),
            discount_percent=5 if kind in DISCOUNTED else 0,
            valid_until=datetime.now(UTC) + timedelta(days=2) if kind in DISCOUNTED else None,
            instalment=1 if kind == "instalment_reminder" else 0,
        ),
    )
    return sent.status


async def attempts(handle: WorkflowHandle[Any, Any], activity: str) -> list[int]:
    """The attempt each finished run of an activity took, from the workflow's own history."""
    events = (await handle.fetch_history()).events
    names = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    return [
        e.activity_task_started_event_attributes.attempt
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and names[e.activity_task_started_event_attributes.scheduled_event_id] == activity
    ]


@pytest.mark.parametrize(
    "trouble",
    [lambda smtp, address: smtp.down(), SmtpServer.greylisting],
    ids=["server-down", "greylisted"],
)
async def test_a_temporary_smtp_failure_retries_and_delivers_exactly_one_copy(
    trouble: Callable[[SmtpServer, str], AbstractContextManager[None]],
    chases: Chases,
    sessions: Sessions,
    smtp_server: SmtpServer,
    mailbox: Mailbox,
) -> None:
    with trouble(smtp_server, "anna@example.com"):
        chase = await chases.start()
        order = chase.order
        await skip(chases.env, timedelta(minutes=3))  # retries at 5 s, 15 s, 35 s, 75 s, 155 s
        assert mailbox.to(order.customer_email) == []
        [waiting] = await outbox(sessions, order.id)
        assert (waiting.kind, waiting.status) == ("order_received", "pending")

    await skip(chases.env, timedelta(minutes=15))  # the backoff reaches 10 minutes at most
    assert [str(m["Subject"]) for m in mailbox.to(order.customer_email)] == [
        "Your order for Python for analysts"
    ]
    [email] = [e for e in await outbox(sessions, order.id) if e.kind == "order_received"]
    assert email.status == "sent"
    [took] = await attempts(chase.handle, "send_order_email")
    assert took >= 5  # failed at least five times, then delivered once
    assert "email_failed" not in [line.kind for line in await history(sessions, order.id)]


async def test_a_refused_address_fails_that_email_only_and_the_chase_goes_on(
    chases: Chases, sessions: Sessions, smtp_server: SmtpServer, mailbox: Mailbox
) -> None:
    with smtp_server.refusing("gone@example.com"):
        chase = await chases.start(customer_email="gone@example.com")
        order, handle = chase.order, chase.handle
        await skip(chases.env, timedelta(hours=1))
        [email] = await outbox(sessions, order.id)
        assert (email.kind, email.status) == ("order_received", "failed")
        assert email.error is not None and "550" in email.error
        assert await attempts(handle, "send_order_email") == [1]  # non-retryable: no retry
        [failed] = [
            line for line in await history(sessions, order.id) if line.kind == "email_failed"
        ]
        assert failed.detail["email_kind"] == "order_received" and "550" in failed.detail["error"]
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

    # The address bounced: it is suppressed, so the cadence's first objection does not go,
    # and a manager of the pool is asked to check it.
    await skip(chases.env, timedelta(days=2))
    assert mailbox.to("gone@example.com") == []
    async with sessions() as session:
        suppression = await session.get(Suppression, "gone@example.com")
        task = await session.scalar(
            select(Task).where(Task.order_id == order.id, Task.kind == "email_bounced")
        )
    assert suppression is not None and suppression.reason == "bounced"
    assert task is not None and task.status == "open" and task.assignee_id is None
    assert (task.title, task.options) == ("Email bounced — check the address?", ["fixed", "skip"])
    suppressed = [
        line for line in await history(sessions, order.id) if line.kind == "email_suppressed"
    ]
    assert [(line.detail["email_kind"], line.detail["reason"]) for line in suppressed] == [
        ("objection_1", "bounced")
    ]


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_customer_text_is_escaped_in_the_html_of_every_email(
    language: str, emails: EmailActivities, sessions: Sessions, mailbox: Mailbox
) -> None:
    order = await make_order(
        sessions,
        customer_name="<script>alert(1)</script>",
        product_name='Tom & Jerry "<b>course</b>"',
        language=language,
    )
    # Every order email; `lead_*` belong to the lead chase and are rendered with a lead,
    # `renewal_*` to a subscription (tests/activities/test_renewals.py).
    folder = TEMPLATES_DIR / "emails" / language
    kinds = sorted(
        p.stem for p in folder.glob("*.html") if not p.stem.startswith(("lead_", "renewal_"))
    )
    assert {"objection_1", "objection_2", "objection_3", "landing", "personal_offer"} <= set(kinds)
    now = datetime.now(UTC)
    plan = PlanRequest(f"plan-{order.id}", order.id, 2, now + timedelta(days=3), 86_400.0, now)
    await ActivityEnvironment().run(InstalmentActivities(sessions).record_plan, plan)
    for kind in kinds:
        assert await send(emails, order.id, kind) == "sent"

    assert len(mailbox.messages) == len(kinds)
    for message in mailbox.messages:
        html = message.get_body(("html",))
        text = message.get_body(("plain",))
        assert html is not None and text is not None
        body = html.get_content()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body, message["Subject"]
        assert "<script>" not in body and "<b>course</b>" not in body
        assert "Tom &amp; Jerry" in body
        # The text part is not HTML: there the name is written as the customer gave it.
        assert "<script>alert(1)</script>" in text.get_content()


async def test_a_closed_order_gets_no_email_but_the_thank_you(
    emails: EmailActivities, sessions: Sessions, mailbox: Mailbox
) -> None:
    paid = await make_order(sessions, status="paid")
    partly_paid_in_full = await make_order(sessions, paid_amount=Decimal("4900.00"))
    cancel_not_yet_heard = await make_order(sessions)
    async with sessions() as session:
        session.add(
            OrderEvent(
                event_id="cancel-1",
                order_id=cancel_not_yet_heard.id,
                type="cancelled",
                received_at=datetime.now(UTC),
            )
        )
        await session.commit()

    for order in (paid, partly_paid_in_full, cancel_not_yet_heard):
        assert await send(emails, order.id, "objection_2") == "suppressed"
        suppressed = [line for line in await history(sessions, order.id)]
        assert [line.kind for line in suppressed] == ["email_suppressed"]
    assert mailbox.messages == []
    assert await send(emails, paid.id, "thank_you") == "sent"
    assert mailbox.subjects() == ["Thank you for your payment: Python for analysts"]


async def test_the_same_outbox_key_sends_one_copy(
    emails: EmailActivities, sessions: Sessions, mailbox: Mailbox
) -> None:
    order = await make_order(sessions)
    key = f"order-{order.id}:email:cadence:1:objection_1"
    assert await send(emails, order.id, "objection_1", key) == "sent"
    assert await send(emails, order.id, "objection_1", key) == "sent"  # a retry after a crash
    assert len(mailbox.messages) == 1
    assert [e.key for e in await outbox(sessions, order.id)] == [key]


async def test_sent_at_is_when_the_smtp_server_accepted_the_email(
    emails: EmailActivities, sessions: Sessions, mailbox: Mailbox
) -> None:
    order = await make_order(sessions)
    scheduled = datetime.now(UTC) - timedelta(hours=1)  # the workflow asked an hour ago
    before = datetime.now(UTC)
    await ActivityEnvironment().run(
        emails.send_order_email,
        OrderEmail(
            key=f"test-{order.id}:late", order_id=order.id, kind="order_received", at=scheduled
        ),
    )
    after = datetime.now(UTC)
    assert len(mailbox.messages) == 1
    [email] = await outbox(sessions, order.id)
    assert email.sent_at is not None and before <= email.sent_at <= after


async def test_a_message_from_the_smtp_backend(
    emails: EmailActivities, sessions: Sessions, settings: Settings, mailbox: Mailbox
) -> None:
    order = await make_order(sessions)
    await send(emails, order.id, "personal_offer")

    [message] = mailbox.messages
    [email] = await outbox(sessions, order.id)
    assert message["From"] == "Chaser <noreply@chaser.localhost>"
    assert message["To"] == "anna@example.com"
    assert message["Subject"] == 'A personal 5% discount on "Python for analysts"'
    # On MAIL_FROM's domain, and the outbox row's id: stable per outbox key.
    assert message["Message-ID"] == f"<{email.id}@chaser.localhost>"
    # Marketing: one-click unsubscribe (RFC 8058) and a visible link.
    token = unsubscribe_links(settings).token("anna@example.com")
    assert message["List-Unsubscribe"] == (
        f"<http://chaser.test/u/{token}>, "
        f"<mailto:unsubscribe@chaser.localhost?subject=unsubscribe%20{token}>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",))
    assert text is not None and f"Unsubscribe: http://chaser.test/u/{token}" in text.get_content()
    assert message["Date"] is not None
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    html = message.get_body(("html",))
    assert html is not None
    assert f'<img src="http://chaser.test/t/{email.id}.gif"' in html.get_content()
    assert f"http://chaser.test/pay/{order.id}?token=" in html.get_content()
    assert f'<a href="http://chaser.test/u/{token}">Unsubscribe</a>' in html.get_content()


async def test_transactional_emails_carry_no_unsubscribe_and_reach_a_suppressed_address(
    emails: EmailActivities, sessions: Sessions, mailbox: Mailbox
) -> None:
    order = await make_order(sessions, customer_email="Quiet@Example.com")
    async with sessions() as session:
        await suppress(session, "quiet@example.com", "unsubscribed", datetime.now(UTC))
        await session.commit()
    assert await send(emails, order.id, "objection_1") == "suppressed"
    assert await send(emails, order.id, "order_received") == "sent"
    [message] = mailbox.messages
    assert message["List-Unsubscribe"] is None
    text = message.get_body(("plain",))
    assert text is not None and "/u/" not in text.get_content()


def test_every_template_has_both_parts_in_both_languages() -> None:
    for language in ("en", "ru"):
        folder = TEMPLATES_DIR / "emails" / language
        kinds = {p.stem for p in folder.iterdir() if p.suffix in (".txt", ".html")}
        for kind in kinds:
            assert (folder / f"{kind}.txt").is_file() and (folder / f"{kind}.html").is_file(), kind
            first = (folder / f"{kind}.txt").read_text().partition("\n")[0]
            assert first.startswith("Subject: "), f"{language}/{kind}.txt"
    en = {p.name for p in Path(TEMPLATES_DIR / "emails" / "en").iterdir()}
    ru = {p.name for p in Path(TEMPLATES_DIR / "emails" / "ru").iterdir()}
    assert en == ru
