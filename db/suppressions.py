"""The suppression list: addresses that get no marketing email again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Suppression


async def suppression_of(session: AsyncSession, email: str) -> Suppression | None:
    return await session.get(Suppression, email.strip().lower())


async def suppress(
    session: AsyncSession, email: str, reason: str, at: datetime, detail: str | None = None
) -> bool:
    """Add the address (the first reason stands); True when it was not on the list yet."""
    if await suppression_of(session, email) is not None:
        return False
    session.add(
        Suppression(email=email.strip().lower(), reason=reason, detail=detail, created_at=at)
    )
    return True
