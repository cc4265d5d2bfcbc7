"""Field shapes shared by several resources, and the one policy for text that we store."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

ModelT = TypeVar("ModelT", bound=BaseModel)


def from_row(schema: type[ModelT], row: object, **given: Any) -> ModelT:
    """An answer body read from a stored row: each field from the row's attribute of the same
    name (a field the row lacks keeps its default); `given` sets the others."""
    read = {name: getattr(row, name) for name in schema.model_fields if hasattr(row, name)}
    return schema.model_validate(read | given)


ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]


def can_be_id(value: str) -> bool:
    """Whether a key from a URL could name a stored row; one that cannot is simply not
    found, whatever it holds (a NUL, ten kilobytes, a slash)."""
    return 0 < len(value) <= 64 and re.fullmatch(ID_PATTERN, value) is not None


def can_be_row_id(value: int) -> bool:
    """Whether an integer from a URL fits the database's row ids (INTEGER: 32-bit, from 1)."""
    return 0 < value < 2**31


Phone = Annotated[str, Field(min_length=5, max_length=32, pattern=r"^\+?[0-9 ()-]{5,32}$")]

# Format characters that reorder or hide text (bidi overrides and isolates, invisible
# separators, the byte-order mark): in a subject or a From name they disguise what is shown.
# Joiners (U+200C, U+200D) stay: emoji and several scripts need them.
_HIDING = frozenset(
    "\u00ad\u061c\u180e\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)


def _refused(text: str, allowed: str) -> str | None:
    """The first character our text policy refuses, or None. Control characters (Cc) break
    headers and file names, line and paragraph separators (Zl, Zp) break headers too, lone
    surrogates (Cs) cannot be stored, and the hiding format characters above mislead."""
    for char in text:
        if char in allowed:
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp", "Cs") or char in _HIDING:
            return char
    return None


def _checked(allowed: str, blank: bool = False) -> AfterValidator:
    def check(text: str) -> str:
        char = _refused(text, allowed)
        if char is not None:
            raise ValueError(f"contains the character U+{ord(char):04X}, which is not allowed")
        if not blank and not text.strip():
            raise ValueError("is blank")
        return text

    return AfterValidator(check)


# Names and titles end up in email subjects and headers: one line each.
OneLine = Annotated[str, Field(min_length=1, max_length=255), _checked("")]
# Notes and signatures are several lines of plain text: newlines and tabs, nothing else.
Text = Annotated[str, Field(max_length=2000), _checked("\n\t", blank=True)]
# The backend's own keys (event ids): printable, one line.
EventId = Annotated[str, Field(min_length=1, max_length=128), _checked("")]


# An amount of money: finite, positive, at most 10 digits before the point and 2 after.
def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    # OSError: a folder of the zone database ("Europe"), or a name too long for a file.
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise ValueError(f"{value!r} is not a known time zone") from error
    return value


# An IANA time zone name: `Europe/Moscow`.
TimeZone = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_known_zone)]

Money = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2, allow_inf_nan=False)]


class EventIn(BaseModel):
    """A backend event: its own key, so that the same event posted twice changes nothing."""

    model_config = ConfigDict(extra="forbid")

    event_id: EventId
    type: str  # each resource narrows it to its own events


class EventAccepted(BaseModel):
    event_id: str
    duplicate: bool


class HistoryLine(BaseModel):
    """One line of an order's or a lead's timeline: what happened, who did it, when."""

    at: datetime
    kind: str
    actor: str
    detail: dict[str, object]


class ErrorOut(BaseModel):
    """Every error answer: one sentence that names the field, the key or the state at fault."""

    detail: str
