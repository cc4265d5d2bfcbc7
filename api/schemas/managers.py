"""Bodies of the manager routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from api.schemas.common import Id, OneLine, Text, TimeZone
from work_calendar import CalendarError, Hours


def _hours(value: str) -> str:
    try:
        Hours.parse(value)
    except CalendarError as error:
        raise ValueError(str(error)) from error
    return value


Language = Literal["en", "ru"]
# When calls may be placed: `Mon-Fri 09:00-19:00`, in the manager's time zone.
WorkingHours = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_hours)]


class ManagerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id
    name: OneLine  # it goes into the From header of the lead follow-ups
    email: EmailStr
    signature: Text = ""
    language: Language | None = None  # DEFAULT_LANGUAGE when absent
    timezone: TimeZone | None = None  # DEFAULT_TIMEZONE when absent
    working_hours: WorkingHours | None = None  # WORKING_HOURS when absent


class ManagerPatch(BaseModel):
    """The fields to change; absent ones stay."""

    model_config = ConfigDict(extra="forbid")

    name: OneLine | None = None
    email: EmailStr | None = None
    signature: Text | None = None
    language: Language | None = None
    timezone: TimeZone | None = None
    working_hours: WorkingHours | None = None
    active: bool | None = None


class ManagerOut(BaseModel):
    id: str
    name: str
    email: str
    signature: str
    language: str
    timezone: str
    working_hours: str | None  # None: WORKING_HOURS
    active: bool
    created_at: datetime
    deactivated_at: datetime | None


class ManagerCreated(ManagerOut):
    token: str  # shown this once; only its hash is stored


class NewToken(BaseModel):
    id: str
    token: str  # shown this once; the previous token no longer works


class DeactivateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    successor_id: Id | None = None  # None: their open work goes back to the pool


class Deactivated(BaseModel):
    manager: ManagerOut
    successor_id: str | None
    orders_moved: list[str]
