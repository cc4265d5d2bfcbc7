"""The row a path names, or a 404: one rule for every resource."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import NotFound
from api.schemas.common import can_be_id

Row = TypeVar("Row")


def known_id(what: str, key: str) -> str:
    """A key that could name a stored row; one that cannot (a NUL, ten kilobytes, a slash) is
    simply not found, and the answer quotes no more of it than an id can hold."""
    if not can_be_id(key):
        raise NotFound(what, key[:64])
    return key


async def get_or_404(session: AsyncSession, model: type[Row], what: str, key: str) -> Row:
    row = await session.get(model, known_id(what, key))
    if row is None:
        raise NotFound(what, key)
    return row
