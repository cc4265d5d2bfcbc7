"""Bodies of the lead and notification routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, model_validator

from api.schemas.common import EventAccepted, EventIn, Id, OneLine
from domain import LeadStopReason

# CRM statuses are the backend's own words (`chasing`, `won`, `IN_PROCESS`); compared lowercase.
LeadStatus = Annotated[
    str,
    Field(min_length=1, max_length=32, pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$"),
    AfterValidator(str.lower),
]


class LeadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: OneLine
    name: OneLine
    email: EmailStr
    responsible_manager_id: Id
    language: Literal["en", "ru"] | None = None


class LeadEventIn(EventIn):
    type: Literal["status_changed", "replied"]
    status: LeadStatus | None = None
    lead: LeadIn | None = None

    @model_validator(mode="after")
    def _fields_for_type(self) -> LeadEventIn:
        if self.type == "status_changed" and self.status is None:
            raise ValueError("a status_changed event needs a status")
        if self.type == "replied" and self.status is not None:
            raise ValueError("a replied event takes no status")
        return self


class LeadEventAccepted(EventAccepted):
    pass  # EventAccepted, under the name the published schema gives the leads' answer


class LeadOut(BaseModel):
    id: str
    title: str
    name: str
    email: str
    responsible_manager_id: str
    language: str
    status: str
    chasing: bool  # a chase is on: emails will go out until it stops
    chase_number: int  # how many chases this lead has had; 0: never chased
    round: int
    emails_sent: int
    next_email_due: datetime | None
    stopped_reason: LeadStopReason | None
    created_at: datetime
    updated_at: datetime


class NotificationOut(BaseModel):
    id: int
    lead_id: str | None
    order_id: str | None
    text: str
    created_at: datetime
    read_at: datetime | None
