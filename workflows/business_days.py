"""Business days (Bitrix `addworkdays`): pure and deterministic, so workflows may call it.

Weekends are Saturday and Sunday; holidays are whole local dates. Adding N business
days keeps the local time of day, whatever the UTC offset does in between.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SATURDAY = 5  # date.weekday(): Monday is 0


class CalendarError(ValueError):
    """A calendar that cannot be built: unknown time zone or a holiday that is not a date."""


@dataclass(frozen=True)
class BusinessCalendar:
    zone: ZoneInfo
    holidays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def of(cls, timezone: str, holidays: Iterable[str | date] = ()) -> BusinessCalendar:
        """A calendar from configuration: an IANA zone name and ISO dates (`2026-01-01`)."""
        try:
            zone = ZoneInfo(timezone)
        except (KeyError, ValueError, OSError) as error:  # ZoneInfoNotFoundError is a KeyError
            raise CalendarError(f"unknown time zone {timezone!r}") from error
        days: set[date] = set()
        for holiday in holidays:
            if isinstance(holiday, date):
                days.add(holiday)
                continue
            try:
                days.add(date.fromisoformat(holiday))
            except ValueError as error:
                raise CalendarError(f"holiday {holiday!r} is not an ISO date") from error
        return cls(zone, frozenset(days))

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < SATURDAY and day not in self.holidays

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """The moment `days` business days after `start`, at the same local time of day.

        Counting begins with the day after `start`'s local date, so a start on a
        weekend or a holiday counts from the next business day on, and the result
        always falls on a business day (for days >= 1). The result is in the
        calendar's zone. A local time that does not exist on the result's date
        (clocks sprang forward) moves forward by the length of the gap; a local time
        that happens twice (clocks fell back) is the first of the two.
        """
        if start.tzinfo is None:
            raise ValueError(f"naive datetime {start!r}: give it a time zone")
        if days < 0:
            raise ValueError(f"business days to add must be zero or more, got {days}")
        local = start.astimezone(self.zone)
        if days == 0:
            return local
        day, remaining = local.date(), days
        while remaining:
            day += timedelta(days=1)
            if self.is_business_day(day):
                remaining -= 1
        # fold=0 resolves both a gap and a repeated hour to the offset in force before
        # the change; the round trip through UTC turns a wall time in a gap into a real one.
        wall = datetime.combine(day, local.time().replace(fold=0), tzinfo=self.zone)
        return wall.astimezone(UTC).astimezone(self.zone)
