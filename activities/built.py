"""What an activity class that works on the database is built with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from db.session import Sessions

SetupT = TypeVar("SetupT")


# eq=False keeps the instances hashable, as the worker's registered activities must be.
@dataclass(eq=False)
class DatabaseActivities(Generic[SetupT]):
    """The database's sessions and the class's own setup."""

    sessions: Sessions
    setup: SetupT
