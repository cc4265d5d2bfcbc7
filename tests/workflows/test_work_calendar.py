"""The calendar: working days and hours across weekends, holidays, transferred working days
and clock changes, worked examples first, then properties that must hold for any start,
zone, count and set of holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settings import Settings
from work_calendar import Calendar, CalendarError, Hours

MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")

# Zones with clock changes on weekdays (Cairo, Jerusalem), half-hour ones (Lord Howe),
# the southern hemisphere, the date line, and the product's default.
ZONES = [
    "Europe/Moscow",
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
    "Asia/Jerusalem",
    "Africa/Cairo",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "Asia/Kolkata",
    "UTC",
]


def moscow(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MOSCOW)


def business_days_after(calendar: Calendar, start: date, end: date) -> int:
    """How many business days lie in (start, end]."""
    return sum(
        calendar.is_working_day(start + timedelta(days=n)) for n in range(1, (end - start).days + 1)
    )


# --- examples -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (moscow(2026, 1, 15, 10, 0), 3, moscow(2026, 1, 20, 10, 0)),  # Thu -> Tue
        (moscow(2026, 1, 16, 10, 0), 1, moscow(2026, 1, 19, 10, 0)),  # Fri -> Mon
        (moscow(2026, 1, 17, 10, 0), 1, moscow(2026, 1, 19, 10, 0)),  # Sat -> Mon
        (moscow(2026, 1, 18, 23, 59), 3, moscow(2026, 1, 21, 23, 59)),  # Sun -> Wed
        (moscow(2026, 1, 12, 9, 15), 5, moscow(2026, 1, 19, 9, 15)),  # Mon -> next Mon
        (moscow(2026, 1, 15, 10, 0), 10, moscow(2026, 1, 29, 10, 0)),  # two weekends
    ],
)
def test_weekends_are_skipped_and_the_time_of_day_kept(
    start: datetime, days: int, due: datetime
) -> None:
    assert Calendar.of("Europe/Moscow").add_working_days(start, days) == due


def test_a_holiday_on_the_due_day_moves_it_to_the_next_business_day() -> None:
    plain = Calendar.of("Europe/Moscow")
    assert plain.add_working_days(moscow(2026, 1, 15, 10), 3) == moscow(2026, 1, 20, 10)
    with_holiday = Calendar.of("Europe/Moscow", days_off=["2026-01-20"])
    assert with_holiday.add_working_days(moscow(2026, 1, 15, 10), 3) == moscow(2026, 1, 21, 10)


def test_a_holiday_inside_the_interval_counts_as_a_day_off() -> None:
    calendar = Calendar.of("Europe/Moscow", days_off=[date(2026, 1, 19)])  # the Monday
    assert calendar.add_working_days(moscow(2026, 1, 15, 10), 3) == moscow(2026, 1, 21, 10)


def test_russian_new_year_holidays_are_skipped_as_a_block() -> None:
    holidays = [f"2027-01-0{n}" for n in range(1, 9)]
    calendar = Calendar.of("Europe/Moscow", days_off=holidays)
    # Wed 30 Dec: Thu 31 Dec is the first business day, Mon 11 and Tue 12 Jan the next two.
    assert calendar.add_working_days(moscow(2026, 12, 30, 18, 0), 3) == moscow(2027, 1, 12, 18)


def test_a_holiday_on_a_weekend_changes_nothing() -> None:
    calendar = Calendar.of("Europe/Moscow", days_off=["2026-01-17", "2026-01-18"])
    assert calendar.add_working_days(moscow(2026, 1, 15, 10), 3) == moscow(2026, 1, 20, 10)


@pytest.mark.parametrize(
    ("zone", "start", "due", "offset", "hours"),
    [
        # Thursday, CET; CEST from Sunday 29 March: the interval is an hour shorter.
        ("Europe/Berlin", datetime(2026, 3, 26, 10), datetime(2026, 3, 31, 10), 2, 5 * 24 - 1),
        # Thursday, CEST; CET from Sunday 25 October: the interval is an hour longer.
        ("Europe/Berlin", datetime(2026, 10, 22, 10), datetime(2026, 10, 27, 10), 1, 5 * 24 + 1),
        # Israel springs forward on a Friday, a business day here: 02:00 becomes 03:00, so a
        # local time the clocks skipped moves forward by the gap (00:30 UTC to 00:30 UTC).
        ("Asia/Jerusalem", datetime(2026, 3, 24, 2, 30), datetime(2026, 3, 27, 3, 30), 3, 72),
        # Egypt falls back at the end of Thursday 29 October: 23:30 happens at +03 and at
        # +02, and the due moment is the first of the two.
        ("Africa/Cairo", datetime(2026, 10, 26, 23, 30), datetime(2026, 10, 29, 23, 30), 3, 72),
    ],
    ids=[
        "spring-forward-keeps-the-local-time",
        "fall-back-keeps-the-local-time",
        "a-skipped-local-time-moves-forward-by-the-gap",
        "a-local-time-that-happens-twice-is-the-first",
    ],
)
def test_three_days_across_a_clock_change_keep_the_local_time(
    zone: str, start: datetime, due: datetime, offset: int, hours: int
) -> None:
    """`start` and `due` are wall times in `zone`, `offset` the due moment's UTC offset and
    `hours` the real time from the start, compared in UTC (Python subtracts two datetimes of
    one zone as wall times)."""
    local_start = start.replace(tzinfo=ZoneInfo(zone))
    got = Calendar.of(zone).add_working_days(local_start, 3)
    assert (got.date(), got.time(), got.utcoffset()) == (
        due.date(),
        due.time(),
        timedelta(hours=offset),
    )
    assert got.astimezone(UTC) - local_start.astimezone(UTC) == timedelta(hours=hours)


def test_new_york_monday_after_the_clocks_change() -> None:
    new_york = ZoneInfo("America/New_York")
    calendar = Calendar.of("America/New_York")
    due = calendar.add_working_days(datetime(2026, 3, 6, 9, 0, tzinfo=new_york), 1)
    assert due == datetime(2026, 3, 9, 9, 0, tzinfo=new_york)
    assert due.utcoffset() == timedelta(hours=-4)


def test_the_local_date_decides_not_the_utc_one() -> None:
    # 21:30 UTC on Thursday is already 00:30 on Friday in Moscow.
    calendar = Calendar.of("Europe/Moscow")
    due = calendar.add_working_days(datetime(2026, 1, 15, 21, 30, tzinfo=UTC), 1)
    assert due == moscow(2026, 1, 19, 0, 30)
    assert due.tzinfo == MOSCOW


def test_zero_days_is_the_same_moment() -> None:
    start = moscow(2026, 1, 17, 12, 0)  # a Saturday: zero days does not move it
    assert Calendar.of("Europe/Moscow").add_working_days(start, 0) == start


def test_bad_input_is_refused_with_a_clear_error() -> None:
    calendar = Calendar.of("Europe/Moscow")
    with pytest.raises(ValueError, match="naive datetime"):
        calendar.add_working_days(datetime(2026, 1, 15, 10, 0), 3)
    with pytest.raises(ValueError, match="zero or more, got -1"):
        calendar.add_working_days(moscow(2026, 1, 15), -1)
    with pytest.raises(CalendarError, match="unknown time zone 'Mars/Olympus'"):
        Calendar.of("Mars/Olympus")
    with pytest.raises(CalendarError, match="unknown time zone '../etc'"):
        Calendar.of("../etc")
    with pytest.raises(CalendarError, match="day '2026-13-01' is not an ISO date"):
        Calendar.of("Europe/Moscow", days_off=["2026-13-01"])


# --- working hours, the production calendar ---------------------------------------------

OFFICE = Hours.parse("Mon-Fri 09:00-19:00")


def russia(today: date = date(2026, 12, 1), **overrides: object) -> Calendar:
    """Moscow office hours on the production calendar as the settings build it."""
    settings = Settings(holidays_country="RU", **overrides)  # type: ignore[arg-type]
    return settings.calendar("Europe/Moscow", "Mon-Fri 09:00-19:00", today).calendar()


def test_friday_evening_opens_on_monday_morning() -> None:
    calendar = Calendar.of("Europe/Moscow", OFFICE)
    friday = moscow(2026, 12, 4, 19, 30)
    assert not calendar.is_open(friday)
    assert calendar.next_open(friday) == moscow(2026, 12, 7, 9, 0)
    assert calendar.next_open(moscow(2026, 12, 7, 8, 59)) == moscow(2026, 12, 7, 9, 0)
    assert calendar.next_open(moscow(2026, 12, 7, 9, 0)) == moscow(2026, 12, 7, 9, 0)
    assert calendar.is_open(moscow(2026, 12, 7, 18, 59))
    assert calendar.next_open(moscow(2026, 12, 7, 19, 0)) == moscow(2026, 12, 8, 9, 0)


def test_the_russian_new_year_holidays_come_from_the_holidays_package() -> None:
    calendar = russia()
    for day in range(1, 9):
        assert not calendar.is_working_day(date(2027, 1, day)), f"1-8 January: {day}"
    # Thursday 31 December 2026 is a day off in Russia too (the package knows the transfer).
    assert calendar.next_open(moscow(2026, 12, 30, 19, 30)) == moscow(2027, 1, 11, 9, 0)
    assert calendar.add_working_days(moscow(2026, 12, 30, 10, 0), 1) == moscow(2027, 1, 11, 10)


def test_a_transferred_working_saturday_is_a_working_day() -> None:
    # Russia worked on Saturday 1 November 2025 for Monday 3 November off.
    calendar = russia(date(2025, 10, 1))
    assert calendar.is_working_day(date(2025, 11, 1))
    assert not calendar.is_working_day(date(2025, 11, 3))
    assert calendar.next_open(moscow(2025, 10, 31, 19, 30)) == moscow(2025, 11, 1, 9, 0)
    # Saturday, then Wednesday: Tuesday 4 November is National Unity Day.
    assert calendar.add_working_days(moscow(2025, 10, 31, 11, 0), 2) == moscow(2025, 11, 5, 11)


def test_working_days_and_holidays_settings_add_to_the_country() -> None:
    calendar = russia(
        date(2026, 12, 1), working_days=(date(2026, 12, 26),), holidays=(date(2026, 12, 28),)
    )
    assert calendar.is_working_day(date(2026, 12, 26))  # a Saturday
    assert not calendar.is_working_day(date(2026, 12, 28))  # a Monday
    assert calendar.next_open(moscow(2026, 12, 25, 20, 0)) == moscow(2026, 12, 26, 9, 0)
    without = Settings(holidays_country=None).calendar(
        "Europe/Moscow", "09:00-19:00", date(2026, 1, 1)
    )
    assert without.days_off == [] and without.working_days == []


@pytest.mark.parametrize(
    ("before", "opens", "offset"),
    [
        # Clocks spring forward on Sunday 29 March 2026: Friday CET, Monday CEST.
        (datetime(2026, 3, 27, 19, 30, tzinfo=BERLIN), datetime(2026, 3, 30, 9, 0), 2),
        # And fall back on Sunday 25 October.
        (datetime(2026, 10, 23, 19, 30, tzinfo=BERLIN), datetime(2026, 10, 26, 9, 0), 1),
    ],
)
def test_a_berlin_opening_after_a_clock_change_is_nine_local(
    before: datetime, opens: datetime, offset: int
) -> None:
    calendar = Calendar.of("Europe/Berlin", "Mon-Fri 09:00-19:00")
    moment = calendar.next_open(before)
    assert moment.replace(tzinfo=None) == opens
    assert moment.utcoffset() == timedelta(hours=offset)
    assert moment.astimezone(UTC).hour == 9 - offset


def test_a_window_that_the_clocks_skip_into_opens_after_the_gap() -> None:
    # Berlin 02:00-03:00 does not exist on 29 March 2026: a 02:30 opening is 03:30 CEST.
    calendar = Calendar.of("Europe/Berlin", "02:30-05:00")
    moment = calendar.next_open(datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN))
    assert moment.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_the_send_window_is_every_day_until_midnight() -> None:
    calendar = Calendar.of("Europe/Kaliningrad", "09:00-24:00")
    kaliningrad = ZoneInfo("Europe/Kaliningrad")
    saturday = datetime(2026, 12, 5, 23, 59, tzinfo=kaliningrad)
    assert calendar.is_open(saturday)
    assert calendar.next_open(saturday + timedelta(minutes=1)) == datetime(
        2026, 12, 6, 9, 0, tzinfo=kaliningrad
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("9-19", "write them as 'Mon-Fri 09:00-19:00'"),
        ("Mon-Fri 19:00-09:00", "must open before it closes"),
        ("Mon-Fry 09:00-19:00", "'Fry' is not a weekday"),
        ("09:00-24:30", "'24:30' is not a time of day"),
    ],
)
def test_nonsense_hours_are_refused(text: str, error: str) -> None:
    with pytest.raises(CalendarError, match=error):
        Hours.parse(text)


def test_hours_name_their_weekdays() -> None:
    assert Hours.parse("Sat-Mon 10:00-14:00").weekdays == frozenset({5, 6, 0})
    assert Hours.parse("Sat 10:00-14:00").weekdays == frozenset({5})
    assert Hours.parse("08:00-20:00").weekdays == frozenset(range(7))
    with pytest.raises(CalendarError, match="no working hours within a year"):
        Calendar.of(
            "UTC",
            "Mon 09:00-10:00",
            days_off=[date(2026, 1, 5) + timedelta(weeks=n) for n in range(60)],
        ).next_open(datetime(2026, 1, 1, tzinfo=UTC))


# --- properties -----------------------------------------------------------------------

starts = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)
)
counts = st.integers(min_value=0, max_value=40)
# Holidays as offsets from the start's date, so that they fall where they matter.
holiday_offsets = st.frozensets(st.integers(min_value=-2, max_value=90), max_size=20)


# A calendar in one of ZONES with holidays around a start, and that start.
Dated = tuple[Calendar, datetime]


@st.composite
def dated_calendars(draw: st.DrawFn) -> Dated:
    zone, start = draw(st.sampled_from(ZONES)), draw(starts)
    first = start.astimezone(ZoneInfo(zone)).date()
    days_off = [first + timedelta(days=n) for n in draw(holiday_offsets)]
    return Calendar.of(zone, days_off=days_off), start


property_settings = settings(max_examples=400, deadline=None)


@property_settings
@given(dated=dated_calendars(), days=counts)
def test_exactly_n_business_days_pass_and_the_due_day_is_one(dated: Dated, days: int) -> None:
    calendar, start = dated
    due = calendar.add_working_days(start, days)
    first = start.astimezone(calendar.zone).date()
    assert due.tzinfo == calendar.zone
    assert business_days_after(calendar, first, due.date()) == days
    if days:
        assert calendar.is_working_day(due.date())
        assert due > start
        assert due.weekday() < 5 and due.date() not in calendar.days_off
    else:
        assert due == start


@property_settings
@given(dated=dated_calendars(), days=counts)
def test_the_local_time_of_day_is_kept_unless_the_clocks_skipped_it(
    dated: Dated, days: int
) -> None:
    calendar, start = dated
    due = calendar.add_working_days(start, days)
    local = start.astimezone(calendar.zone)
    wanted = datetime.combine(due.date(), local.time().replace(fold=0))
    got = due.replace(tzinfo=None)
    exists = wanted.replace(tzinfo=calendar.zone).astimezone(UTC).astimezone(calendar.zone)
    if days == 0:
        assert due == start
    elif exists.replace(tzinfo=None) == wanted:
        assert got == wanted
        # A repeated wall time is its first occurrence: the earlier instant.
        second = wanted.replace(tzinfo=calendar.zone, fold=1)
        assert due.astimezone(UTC) <= second.astimezone(UTC)
    else:
        # The clocks jumped over the wanted time: the due moment is just after the jump.
        assert timedelta(0) < got - wanted <= timedelta(hours=2)


@property_settings
@given(dated=dated_calendars(), a=counts, b=counts)
def test_adding_in_two_steps_lands_on_the_same_day(dated: Dated, a: int, b: int) -> None:
    calendar, start = dated
    in_two = calendar.add_working_days(calendar.add_working_days(start, a), b)
    assert in_two.date() == calendar.add_working_days(start, a + b).date()


@property_settings
@given(dated=dated_calendars(), days=counts)
def test_one_more_day_is_always_later(dated: Dated, days: int) -> None:
    calendar, start = dated
    one = calendar.add_working_days(start, days).astimezone(UTC)
    assert one < calendar.add_working_days(start, days + 1).astimezone(UTC)


@property_settings
@given(dated=dated_calendars(), other=st.sampled_from(ZONES), days=counts)
def test_the_zone_of_the_start_does_not_matter_only_the_instant(
    dated: Dated, other: str, days: int
) -> None:
    calendar, start = dated
    assert calendar.add_working_days(start, days) == calendar.add_working_days(
        start.astimezone(ZoneInfo(other)), days
    )


@property_settings
@given(dated=dated_calendars(), days=st.integers(1, 40))
def test_a_new_holiday_on_the_due_day_moves_it_to_the_next_business_day_only(
    dated: Dated, days: int
) -> None:
    calendar, start = dated
    due = calendar.add_working_days(start, days)
    moved = Calendar(calendar.zone, days_off=calendar.days_off | {due.date()})
    later = moved.add_working_days(start, days)
    assert later.date() > due.date()
    assert business_days_after(moved, due.date(), later.date()) == 1
    # A holiday after the due day changes nothing.
    after = Calendar(calendar.zone, days_off=calendar.days_off | {due.date() + timedelta(days=1)})
    assert after.add_working_days(start, days) == due


hours_texts = st.sampled_from(
    [
        "Mon-Fri 09:00-19:00",
        "09:00-21:00",
        "Sat-Tue 02:30-03:15",
        "Mon 00:00-24:00",
        "Fri 23:00-24:00",
    ]
)


@property_settings
@given(zone=st.sampled_from(ZONES), hours=hours_texts, start=starts, offsets=holiday_offsets)
def test_the_next_opening_is_open_and_nothing_before_it_is(
    zone: str, hours: str, start: datetime, offsets: frozenset[int]
) -> None:
    first = start.astimezone(ZoneInfo(zone)).date()
    calendar = Calendar.of(zone, hours, days_off=[first + timedelta(days=n) for n in offsets])
    opens = calendar.next_open(start)
    assert opens >= start
    assert calendar.is_open(opens)
    assert calendar.is_working_day(opens.date()) or opens.time() == time(0)
    # Minutes before the opening (after the start) are closed.
    before = opens - timedelta(minutes=1)
    if before >= start:
        assert calendar.next_open(before) == opens
