"""The dial on Russia's production calendar (README "Calendar"): the New Year holidays are
skipped as a block and a transferred working Saturday is worked, under time skipping.

The days come from HOLIDAYS and WORKING_DAYS, set for dates just ahead of the shared
time-skipping server's clock (which earlier tests have moved on, perhaps by years): the
`holidays` package's transfers differ from year to year, the settings say exactly."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from scripts.devstack.walk import Walk, when
from settings import Settings
from tests.workflows.test_calling_hours import MOSCOW, OFFICE, local, unanswered_calls


def new_year_eve_eve(after: date) -> date:
    """The first 30 December after `after` that, like the 9 January after it, is a weekday."""
    year = after.year
    while True:
        eve_eve, ninth = date(year, 12, 30), date(year + 1, 1, 9)
        if eve_eve > after and eve_eve.weekday() < 5 and ninth.weekday() < 5:
            return eve_eve
        year += 1


def working_saturday(after: date) -> date:
    """A Saturday at least a week after `after`."""
    day = after + timedelta(days=7)
    return day + timedelta(days=(5 - day.weekday()) % 7)


@pytest.fixture
async def today(ts_env: WorkflowEnvironment) -> date:
    return (await ts_env.get_current_time()).astimezone(MOSCOW).date()


@pytest.fixture
def settings(settings: Settings, today: date) -> Settings:
    """31 December to 8 January off (the New Year week, as most years have it), one
    Saturday worked; the worker's calendar activity reads these."""
    eve_eve = new_year_eve_eve(today)
    holidays = tuple(eve_eve + timedelta(days=n) for n in range(1, 10))
    return settings.model_copy(
        update={"holidays": holidays, "working_days": (working_saturday(today),)}
    )


async def taken_at(walk: Walk, order_id: str, taken: datetime) -> None:
    """The order comes a minute before `taken`, when Olga takes it: the dial starts then."""
    await walk.skip_to(taken - timedelta(minutes=1))
    await walk.create_order(order_id)
    await walk.skip(minutes=1)
    await walk.answered("olga", await walk.task("olga", order_id, "take_order"), "yes")


async def test_a_dial_started_on_30_december_calls_again_on_9_january(
    walk: Walk, today: date
) -> None:
    await walk.manager("olga", timezone="Europe/Moscow", working_hours=OFFICE)
    eve_eve = new_year_eve_eve(today)
    await taken_at(walk, "NY-1", datetime.combine(eve_eve, time(18, 0), tzinfo=MOSCOW))

    calls = await unanswered_calls(walk, "olga", "NY-1", 5)

    days = [when(call).astimezone(MOSCOW).date() for call in calls]
    assert days == [eve_eve] * 2 + [date(eve_eve.year + 1, 1, 9)] * 3
    assert [local(call, MOSCOW)[1:] for call in calls] == [
        (18, 0),
        (18, 30),  # 19:00 is after hours: the first day ends with two calls
        (9, 0),
        (9, 30),
        (10, 0),
    ]
    assert calls[2]["title"].endswith("(day 2, call 1)")


async def test_a_transferred_working_saturday_is_a_day_of_calls(walk: Walk, today: date) -> None:
    await walk.manager("olga", timezone="Europe/Moscow", working_hours=OFFICE)
    saturday = working_saturday(today)
    friday = saturday - timedelta(days=1)
    await taken_at(walk, "SAT-1", datetime.combine(friday, time(18, 0), tzinfo=MOSCOW))

    calls = await unanswered_calls(walk, "olga", "SAT-1", 6)

    assert [local(call, MOSCOW) for call in calls] == [
        ("Fri", 18, 0),
        ("Fri", 18, 30),
        ("Sat", 9, 0),  # a working day, though Olga's hours say Mon-Fri
        ("Sat", 9, 30),
        ("Sat", 10, 0),
        ("Mon", 10, 0),  # the third day: one working day on, the same time of day
    ]
    assert when(calls[2]).astimezone(MOSCOW).date() == saturday
