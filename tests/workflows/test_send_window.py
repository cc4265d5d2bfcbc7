"""Marketing emails inside the customer's send window (README "Calendar"): in their time
zone, never on a public holiday, and the waits after an email start when it has gone."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from db.session import Sessions
from scripts.devstack.servers import serve_api
from scripts.devstack.walk import Walk
from settings import Settings
from tests.factories import outbox

KALININGRAD = ZoneInfo("Europe/Kaliningrad")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The product's send window; everything else as the suite has it."""
    return settings.model_copy(update={"send_window": "09:00-21:00"})


async def at_local(walk: Walk, wall: time, zone: ZoneInfo, days: int = 1) -> datetime:
    """`wall` local time in `zone`, `days` days from now's date there."""
    now = (await walk.now()).astimezone(zone)
    return datetime.combine(now.date() + timedelta(days=days), wall, tzinfo=zone)


async def sent(sessions: Sessions, order_id: str, kind: str) -> datetime:
    """When the chase sent the order's email of this kind (its clock; `sent_at` is the SMTP
    server's acceptance in real time), waiting briefly for the worker to finish sending."""
    for _ in range(400):
        for email in await outbox(sessions, order_id):
            if email.kind == kind and email.status == "sent":
                return email.created_at
        await asyncio.sleep(0.025)
    raise AssertionError(f"no {kind} email sent for order {order_id}")


def close_to(moment: datetime, wanted: datetime) -> bool:
    """At `wanted`, or the moment the worker got to it just after."""
    return timedelta(0) <= moment - wanted < timedelta(seconds=5)


async def test_an_objection_due_at_2am_goes_at_9_and_the_waits_start_then(
    walk: Walk, sessions: Sessions
) -> None:
    created = await at_local(walk, time(2, 0), KALININGRAD)
    await walk.skip_to(created)
    await walk.create_order("SW-1", timezone="Europe/Kaliningrad")
    assert (await walk.order("SW-1"))["customer"]["timezone"] == "Europe/Kaliningrad"
    assert close_to(await sent(sessions, "SW-1", "order_received"), created)  # transactional

    due = created + timedelta(days=2)  # FIRST_REMINDER: 02:00 there
    await walk.skip_to(due + timedelta(hours=6))
    assert [e.kind for e in await outbox(sessions, "SW-1")] == ["order_received"]
    # The take-order task waits for people: the order shows the email waiting for 09:00 there.
    shown = (await walk.order("SW-1"))["process"]["next_due"]
    assert (shown["step"], shown["customer"]["timezone"]) == ("email", "Europe/Kaliningrad")
    assert datetime.fromisoformat(shown["customer"]["local"]).strftime("%H:%M") == "09:00"
    assert shown["manager"]["timezone"] == "Europe/Moscow"  # the pool's: DEFAULT_TIMEZONE
    await walk.skip(hours=2)  # 10:00 there
    first = await sent(sessions, "SW-1", "objection_1")
    assert close_to(first, due.replace(hour=9))
    assert first.astimezone(KALININGRAD).time() < time(9, 1)

    # Neither opened nor paid: the open wait and the purchase wait (a day each) run from 09:00.
    await walk.skip_to(first + timedelta(days=2, hours=1))
    second = await sent(sessions, "SW-1", "objection_2")
    assert close_to(second, first + timedelta(days=2))


async def test_no_marketing_email_on_the_customers_public_holiday(
    ts_env: WorkflowEnvironment, ts_worker: Worker, settings: Settings, sessions: Sessions
) -> None:
    now = await ts_env.get_current_time()
    start = datetime.combine(
        now.astimezone(KALININGRAD).date() + timedelta(days=1), time(12), tzinfo=KALININGRAD
    )
    holiday: date = (start + timedelta(days=2)).date()  # the day objection 1 falls due
    with_holiday = settings.model_copy(update={"holidays": (holiday,)})
    app = create_app(with_holiday, temporal=ts_env.client, clock=ts_env.get_current_time)
    async with serve_api(app) as api:
        walk = Walk(api, ts_env, with_holiday)
        await walk.skip_to(start)
        await walk.create_order("SW-2", timezone="Europe/Kaliningrad")
        await walk.skip_to(start + timedelta(days=3, hours=1))

        first = await sent(sessions, "SW-2", "objection_1")
        local = first.astimezone(KALININGRAD)
        assert local.date() == holiday + timedelta(days=1)
        assert time(9) <= local.time() < time(9, 1)


async def next_clock_change(walk: Walk, zone: ZoneInfo, forward: bool = True) -> date:
    """The coming day on which `zone`'s clocks spring forward (the last Sunday of March), or
    fall back (the last Sunday of October)."""
    day = (await walk.now()).astimezone(zone).date() + timedelta(days=3)
    while True:
        noon = datetime.combine(day, time(12), tzinfo=zone).utcoffset()
        before = datetime.combine(day - timedelta(days=1), time(12), tzinfo=zone).utcoffset()
        assert noon is not None and before is not None
        if (noon > before) if forward else (noon < before):
            return day
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("forward", "order_id", "offset"),
    [
        # CEST after the change: the window opens at 07:00 UTC, not 08:00.
        pytest.param(True, "SW-3", timedelta(hours=2), id="springs-forward"),
        # Due at Sunday 01:00 CEST, before the clocks go back at 03:00 CEST to 02:00 CET:
        # CET after the change, the window opens at 08:00 UTC, not 07:00.
        pytest.param(False, "SW-5", timedelta(hours=1), id="falls-back"),
    ],
)
async def test_the_window_opens_at_9_local_on_the_day_berlin_changes_its_clocks(
    forward: bool, order_id: str, offset: timedelta, walk: Walk, sessions: Sessions
) -> None:
    sunday = await next_clock_change(walk, BERLIN, forward)
    created = datetime.combine(sunday - timedelta(days=2), time(1, 0), tzinfo=BERLIN)
    await walk.skip_to(created)
    await walk.create_order(order_id, timezone="Europe/Berlin")
    await walk.skip_to(datetime.combine(sunday, time(10), tzinfo=BERLIN))

    first = (await sent(sessions, order_id, "objection_1")).astimezone(BERLIN)
    assert first.date() == sunday
    assert time(9) <= first.time() < time(9, 1)
    assert first.utcoffset() == offset


async def test_an_unknown_customer_zone_is_refused(walk: Walk) -> None:
    response = await walk.api.post(
        "/v1/orders",
        json={
            "id": "SW-4",
            "product": {"id": "p", "name": "P"},
            "amount": "10.00",
            "currency": "RUB",
            "customer": {"name": "A", "email": "a@example.com", "timezone": "Mars/Olympus"},
        },
        headers=walk.backend,
    )
    assert response.status_code == 422
    assert "'Mars/Olympus' is not a known time zone" in response.json()["detail"]
    assert (await walk.api.get("/v1/orders/W-4", headers=walk.backend)).status_code == 404
