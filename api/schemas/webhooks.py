"""Bodies of the webhook routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from webhooks.events import EVENT_TYPES

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl
    # The event types it wants; none: every type.
    event_types: list[EventType] = Field(default_factory=list, max_length=len(EVENT_TYPES))


class EndpointOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    created_at: datetime


class NewEndpointOut(EndpointOut):
    secret: str  # shown once: keep it to verify the signatures


class DeliveryOut(BaseModel):
    id: int
    endpoint_id: str
    message_id: str  # the webhook-id, the same on every attempt
    event_type: str
    subject: str
    status: str  # pending / delivered / failed
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime
    give_up_at: datetime
    created_at: datetime
    delivered_at: datetime | None
