"""Whose calendar a call follows: the assignee's time zone and hours, or the pool's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from temporalio import activity

from activities.built import DatabaseActivities
from db.models import Manager
from work_calendar import CalendarSpec


@dataclass(frozen=True)
class CalendarSetup:
    default_timezone: str  # the pool's zone, and a manager's without one
    working_hours: str  # WORKING_HOURS: a manager's hours unless they have their own
    pool_hours: str  # POOL_HOURS: the shop's hours, for tasks nobody has taken
    build: Callable[[str, str, date], CalendarSpec]  # Settings.calendar: zone, hours, today


@dataclass
class WhoseCalendar:
    assignee_id: str | None  # None: the pool
    at: datetime  # the public holidays are those around this moment


class CalendarActivities(DatabaseActivities[CalendarSetup]):
    @activity.defn
    async def working_calendar(self, whose: WhoseCalendar) -> CalendarSpec:
        """The assignee's calendar as the database has it now (an unknown one: the pool's)."""
        zone, hours = self.setup.default_timezone, self.setup.pool_hours
        if whose.assignee_id is not None:
            async with self.sessions() as session:
                manager = await session.get(Manager, whose.assignee_id)
            if manager is not None:
                zone = manager.timezone
                hours = manager.working_hours or self.setup.working_hours
        return self.setup.build(zone, hours, whose.at.date())
