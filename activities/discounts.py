"""Personal offers (SPEC §1 D): a discount on an unpaid order, expired when its time is up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.orders import load_order
from activities.rows import commit_once
from db.history import record_step
from db.models import Discount
from db.order_over import order_over
from db.session import Sessions
from domain import OfferStatus


@dataclass
class DiscountGrant:
    key: str
    order_id: str
    percent: int
    valid_until: datetime
    at: datetime


@dataclass
class DiscountGranted:
    granted: bool  # False when the order closed before the offer could be made
    percent: int
    valid_until: datetime


@dataclass
class DiscountExpiry:
    key: str  # the key the discount was granted under
    order_id: str
    at: datetime


@dataclass
class DiscountExpired:
    status: str  # expired, or used when the order was paid first


class DiscountActivities:
    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    @activity.defn
    async def grant(self, request: DiscountGrant) -> DiscountGranted:
        """Grant the discount once per key; an order already paid or cancelled gets none."""
        async with self.sessions() as session:
            existing = await _by_key(session, request.key)
            if existing is not None:
                return DiscountGranted(True, existing.percent, existing.valid_until)
            order = await load_order(session, request.order_id)
            if await order_over(session, order):
                return DiscountGranted(False, request.percent, request.valid_until)
            discount = Discount(
                key=request.key,
                order_id=order.id,
                percent=request.percent,
                valid_until=request.valid_until,
                status=OfferStatus.ACTIVE,
                created_at=request.at,
            )
            session.add(discount)
            record_step(
                session,
                request,
                "discount_granted",
                percent=request.percent,
                valid_until=request.valid_until.isoformat(),
            )
            await commit_once(session, request.key)
            return DiscountGranted(True, discount.percent, discount.valid_until)

    @activity.defn
    async def expire(self, request: DiscountExpiry) -> DiscountExpired:
        """End an active discount: expired, or used if the order was paid before its end."""
        async with self.sessions() as session, session.begin():
            discount = await _by_key(session, request.key)
            if discount is None:
                raise ApplicationError(
                    f"no discount was granted under key {request.key!r}", non_retryable=True
                )
            if discount.status != OfferStatus.ACTIVE:
                return DiscountExpired(discount.status)
            order = await load_order(session, request.order_id)
            paid = await order_over(session, order, paid_only=True)
            discount.status = OfferStatus.USED if paid else OfferStatus.EXPIRED
            record_step(
                session,
                request,
                f"discount_{discount.status}",
                sub_key=discount.status,
                percent=discount.percent,
                valid_until=discount.valid_until.isoformat(),
            )
            return DiscountExpired(discount.status)


async def _by_key(session: AsyncSession, key: str) -> Discount | None:
    return await session.scalar(select(Discount).where(Discount.key == key))
