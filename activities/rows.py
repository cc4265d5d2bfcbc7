"""The row an activity works on, or a permanent failure, and the row it writes once: one rule
for every activity."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.exceptions import ApplicationError

Row = TypeVar("Row")


def missing(what: str, key: str) -> ApplicationError:
    """A row that is not there will not appear by retrying: the activity fails for good."""
    return ApplicationError(f"{what} {key!r} does not exist", non_retryable=True)


async def load(session: AsyncSession, model: type[Row], what: str, key: str) -> Row:
    """The `model` row with this key; a missing one fails the activity for good."""
    row = await session.get(model, key)
    if row is None:
        raise missing(what, key)
    return row


async def commit_once(session: AsyncSession, key: str) -> None:
    """Commit a row keyed for idempotency; a clash means another attempt is writing it."""
    try:
        await session.commit()
    except IntegrityError as error:
        # Another attempt with the same key got there first; Temporal retries us.
        raise RuntimeError(f"key {key!r} is being written") from error
