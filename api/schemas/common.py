"""Field shapes shared by several resources."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
Phone = Annotated[str, Field(min_length=5, max_length=32, pattern=r"^\+?[0-9 ()-]{5,32}$")]
# Names and titles end up in email subjects and headers: one line each.
OneLine = Annotated[
    str, Field(min_length=1, max_length=255, pattern=r"^[^\r\n\x00]*\S[^\r\n\x00]*$")
]


class HistoryLine(BaseModel):
    """One line of an order's or a lead's timeline: what happened, who did it, when."""

    at: datetime
    kind: str
    actor: str
    detail: dict[str, object]
