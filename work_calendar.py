"""The one calendar: working days and working hours in a time zone.

Pure and deterministic, so workflows may use it: it never reads the clock or the
environment. Public holidays come in as dates (`holiday_dates.py` reads them from the
`holidays` package outside the workflow), so a chase keeps the calendar it started with.

A working day is a weekday of the hours' window that is not a day off, or one of the
transferred working days (a Saturday worked in exchange for a bridge day, as Russia's
production calendar has). Local wall times that the clocks skip (spring forward) move
forward by the gap; a wall time that happens twice (fall back) is the first of the two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
# How far ahead an opening is looked for before the calendar is called closed for good
# (e.g. hours on no weekday): longer than any holiday run.
HORIZON_DAYS = 366
_HOURS = re.compile(
    r"^\s*(?:(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+)?"
    r"(?P<opens>\d{1,2}:\d{2})\s*-\s*(?P<closes>\d{1,2}:\d{2})\s*$",
    re.IGNORECASE,
)


class CalendarError(ValueError):
    """A calendar that cannot be built or has no working moment: the message names the value."""


@dataclass(frozen=True)
class Hours:
    """A daily window of local wall time on some weekdays: `Mon-Fri 09:00-19:00`."""

    opens: timedelta  # since local midnight; closes may be 24:00
    closes: timedelta
    weekdays: frozenset[int] = frozenset(range(5))

    @classmethod
    def parse(cls, text: str) -> Hours:
        """`09:00-21:00` (every day), `Mon-Fri 09:00-19:00` or `Sat 10:00-14:00`."""
        match = _HOURS.match(text)
        if match is None:
            raise CalendarError(f"hours {text!r}: write them as 'Mon-Fri 09:00-19:00'")
        opens, closes = _clock(match["opens"], text), _clock(match["closes"], text)
        if not opens < closes:
            raise CalendarError(f"hours {text!r}: the window must open before it closes")
        if match["first"] is None:
            return cls(opens, closes, frozenset(range(7)))
        first = _weekday(match["first"], text)
        last = _weekday(match["last"], text) if match["last"] else first
        days = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        return cls(opens, closes, frozenset(days))


ALL_DAY = Hours(timedelta(0), timedelta(days=1))  # Monday to Friday, the whole day


@dataclass(frozen=True)
class Calendar:
    """Working days and hours in one zone."""

    zone: ZoneInfo
    hours: Hours = ALL_DAY
    days_off: frozenset[date] = field(default_factory=frozenset)
    working_days: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def of(
        cls,
        timezone: str,
        hours: str | Hours = ALL_DAY,
        days_off: Iterable[str | date] = (),
        working_days: Iterable[str | date] = (),
    ) -> Calendar:
        """A calendar from configuration: an IANA zone, hours and ISO dates (`2027-01-01`)."""
        return cls(
            zone(timezone),
            Hours.parse(hours) if isinstance(hours, str) else hours,
            _dates(days_off),
            _dates(working_days),
        )

    def is_working_day(self, day: date) -> bool:
        if day in self.working_days:
            return True
        return day.weekday() in self.hours.weekdays and day not in self.days_off

    def is_open(self, moment: datetime) -> bool:
        """Whether `moment` is inside the working hours of a working day."""
        return self.next_open(moment) == moment

    def next_open(self, moment: datetime) -> datetime:
        """The first moment at or after `moment` inside the working hours, in the zone."""
        local = _aware(moment).astimezone(self.zone)
        day = local.date()
        for _ in range(HORIZON_DAYS + 1):
            if self.is_working_day(day):
                opens, closes = self._at(day, self.hours.opens), self._at(day, self.hours.closes)
                if local < opens:
                    return opens
                if local < closes:
                    return local
            day += timedelta(days=1)
        raise CalendarError(f"no working hours within a year after {moment.isoformat()}")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The moment `days` working days after `start`, at the same local time of day.

        Counting begins with the day after `start`'s local date, so a start on a day off
        counts from the next working day on, and the result falls on a working day (for
        days >= 1). The result is in the calendar's zone.
        """
        if days < 0:
            raise ValueError(f"working days to add must be zero or more, got {days}")
        local = _aware(start).astimezone(self.zone)
        if days == 0:
            return local
        day, remaining = local.date(), days
        for _ in range(HORIZON_DAYS * (days + 1)):
            day += timedelta(days=1)
            remaining -= self.is_working_day(day)
            if not remaining:
                return self._wall(day, local.time())
        raise CalendarError(f"no {days} working days within years after {start.isoformat()}")

    def _at(self, day: date, since_midnight: timedelta) -> datetime:
        whole_days, rest = divmod(since_midnight, timedelta(days=1))
        return self._wall(day + timedelta(days=whole_days), (datetime.min + rest).time())

    def _wall(self, day: date, wall: time) -> datetime:
        # fold=0 resolves both a gap and a repeated hour to the offset in force before the
        # change; the round trip through UTC turns a wall time in a gap into a real one.
        moment = datetime.combine(day, wall.replace(fold=0, tzinfo=None), tzinfo=self.zone)
        return moment.astimezone(UTC).astimezone(self.zone)


@dataclass
class CalendarSpec:
    """A calendar as a workflow input carries it: plain values fixed when a chase starts."""

    timezone: str
    hours: str
    days_off: list[str] = field(default_factory=list)  # ISO dates: public holidays, HOLIDAYS
    working_days: list[str] = field(default_factory=list)  # ISO dates: WORKING_DAYS

    def calendar(self) -> Calendar:
        return Calendar.of(self.timezone, self.hours, self.days_off, self.working_days)


@dataclass(frozen=True)
class ChaseClock:
    """CHASER_TIME_SCALE: due moments are found on the real calendar, then every wait shrinks.

    Chase time runs `scale` times as fast from `started`; at scale 1 both clocks agree.
    """

    started: datetime
    scale: float = 1.0

    def chase_time(self, workflow_time: datetime) -> datetime:
        return self.started + (workflow_time - self.started) / self.scale

    def workflow_time(self, chase_time: datetime) -> datetime:
        return self.started + (chase_time - self.started) * self.scale


def zone(name: str) -> ZoneInfo:
    """An IANA zone by name, or a CalendarError that names it."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError) as error:  # ZoneInfoNotFoundError is a KeyError
        raise CalendarError(f"unknown time zone {name!r}") from error


def _dates(values: Iterable[str | date]) -> frozenset[date]:
    days: set[date] = set()
    for value in values:
        if isinstance(value, date):
            days.add(value)
            continue
        try:
            days.add(date.fromisoformat(value))
        except ValueError as error:
            raise CalendarError(f"day {value!r} is not an ISO date") from error
    return frozenset(days)


def _clock(text: str, hours: str) -> timedelta:
    hour, minute = (int(part) for part in text.split(":"))
    if minute > 59 or hour > 24 or (hour == 24 and minute):
        raise CalendarError(f"hours {hours!r}: {text!r} is not a time of day")
    return timedelta(hours=hour, minutes=minute)


def _weekday(text: str, hours: str) -> int:
    try:
        return WEEKDAYS.index(text.lower())
    except ValueError:
        raise CalendarError(f"hours {hours!r}: {text!r} is not a weekday (Mon..Sun)") from None


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: give it a time zone")
    return moment
