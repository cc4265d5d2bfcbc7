"""Bodies of the suppression list routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class SuppressionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    reason: Literal["unsubscribed", "bounced", "manual"] = "manual"
    detail: str | None = Field(default=None, max_length=1000)


class SuppressionOut(BaseModel):
    email: str
    reason: str
    detail: str | None
    created_at: datetime
