"""The renewal activities retried as Temporal retries them: one email per key, one period end,
and a renewal the API recorded meanwhile is not overwritten by a lapse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from temporalio.testing import ActivityEnvironment

from activities.renewals import ManagerOf, PeriodEnd, RenewalActivities, RenewalEmail
from db.models import Email, Manager, Renewal, Subscription
from db.session import Sessions
from scripts.devstack.mailbox import Mailbox
from tests.factories import make_order
from worker import WorkerDeps


async def make_subscription(sessions: Sessions, **overrides: object) -> Subscription:
    now = datetime.now(UTC)
    fields: dict[str, object] = {
        "id": "S-A",
        "product_id": "club-python",
        "product_name": "Python club",
        "price": Decimal("990.00"),
        "currency": "RUB",
        "customer_name": "Anna Petrova",
        "customer_email": "Anna@Example.com",
        "language": "en",
        "status": "active",
        "period": 1,
        "period_ends_at": now + timedelta(days=7),
        "created_at": now,
        "updated_at": now,
    }
    fields.update(overrides)
    subscription = Subscription(**fields)
    async with sessions() as session, session.begin():
        session.add(subscription)
    return subscription


def renewals(deps: WorkerDeps) -> RenewalActivities:
    return RenewalActivities(deps.sessions, deps.mailer, deps.templates, deps.mail)


async def test_a_retried_reminder_is_sent_once_and_none_for_a_period_gone_by(
    deps: WorkerDeps, sessions: Sessions, mailbox: Mailbox
) -> None:
    await make_subscription(sessions)
    activities, now = renewals(deps), datetime.now(UTC)
    first = RenewalEmail("renewal-S-A:1:0:notice:7", "S-A", 1, 7, now)
    sent = await ActivityEnvironment().run(activities.send_renewal_email, first)
    again = await ActivityEnvironment().run(activities.send_renewal_email, first)
    assert sent == again and sent.status == "sent"
    [message] = await mailbox.wait_for(1)
    text = message.get_body(("plain",))
    assert text is not None
    assert "ends in 7 day(s)" in text.get_content()

    stale = RenewalEmail("renewal-S-A:2:0:notice:1", "S-A", 2, 1, now)  # not the period now
    assert (await ActivityEnvironment().run(activities.send_renewal_email, stale)).status == (
        "suppressed"
    )
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Email)) == 2
    assert len(mailbox.messages) == 1


async def test_the_seller_is_the_manager_of_the_customer_s_last_paid_order(
    deps: WorkerDeps, sessions: Sessions
) -> None:
    async with sessions() as session, session.begin():
        for manager_id in ("olga", "ivan"):
            session.add(
                Manager(
                    id=manager_id,
                    name=manager_id,
                    email=f"{manager_id}@shop.example",
                    token_hash=manager_id * 8,
                    created_at=datetime.now(UTC),
                )
            )
    await make_subscription(sessions)
    activities = renewals(deps)
    assert await ActivityEnvironment().run(activities.renewal_manager, ManagerOf("S-A")) is None
    earlier = datetime.now(UTC) - timedelta(days=60)
    await make_order(sessions, status="paid", assignee_id="olga", ended_at=earlier)
    await make_order(
        sessions, status="paid", assignee_id="ivan", ended_at=earlier + timedelta(days=30)
    )
    await make_order(sessions, status="cancelled", assignee_id="olga", ended_at=datetime.now(UTC))
    assert await ActivityEnvironment().run(activities.renewal_manager, ManagerOf("S-A")) == "ivan"


async def test_a_period_ends_once_and_a_recorded_renewal_beats_a_lapse(
    deps: WorkerDeps, sessions: Sessions
) -> None:
    await make_subscription(sessions, period=2)  # the API recorded a renewal of period 1
    activities, now = renewals(deps), datetime.now(UTC)
    lapse = PeriodEnd("renewal-S-A:1:end:lapsed", "S-A", 1, now, "lapsed", None, now)
    await ActivityEnvironment().run(activities.finish_period, lapse)
    await ActivityEnvironment().run(activities.finish_period, lapse)
    async with sessions() as session:
        rows = list(await session.scalars(select(Renewal)))
        subscription = await session.get(Subscription, "S-A")
    assert [(r.period, r.outcome) for r in rows] == [(1, "lapsed")]
    assert subscription is not None and subscription.status == "active"

    end = PeriodEnd("renewal-S-A:2:end:lapsed", "S-A", 2, now, "lapsed", "declined", now)
    await ActivityEnvironment().run(activities.finish_period, end)
    async with sessions() as session:
        subscription = await session.get(Subscription, "S-A")
    assert subscription is not None and subscription.status == "lapsed"


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_customer_text_is_escaped_in_the_renewal_reminder(
    deps: WorkerDeps, sessions: Sessions, mailbox: Mailbox, language: str
) -> None:
    await make_subscription(
        sessions,
        customer_name="<script>alert(1)</script>",
        product_name='Tom & Jerry "<b>club</b>"',
        language=language,
    )
    request = RenewalEmail("renewal-S-A:1:0:notice:1", "S-A", 1, 1, datetime.now(UTC))
    assert (await ActivityEnvironment().run(renewals(deps).send_renewal_email, request)).status == (
        "sent"
    )
    [message] = await mailbox.wait_for(1)
    part = message.get_body(("html",))
    assert part is not None
    html = part.get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>club</b>" not in html
    assert "/renew/S-A?token=" in html
