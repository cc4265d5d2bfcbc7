"""What the backend posts of a purchase (an order, a subscription): its columns, stored once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas.orders import OrderIn
from api.schemas.subscriptions import SubscriptionIn
from db.history import record
from db.models import Order, Subscription
from db.upsert import insert_or_ignore

Purchase = TypeVar("Purchase", Order, Subscription)


@dataclass(frozen=True)
class Stored(Generic[Purchase]):
    row: Purchase
    created: bool  # False: the same id again, which changed nothing

    @property
    def status_code(self) -> int:
        """201 Created, or 200 for the same purchase again (perhaps posted twice at once)."""
        return 201 if self.created else 200


def purchase_columns(posted: OrderIn | SubscriptionIn, default_language: str) -> dict[str, Any]:
    """The columns every purchase has (db.models.CustomerPurchase), from the posted body."""
    return {
        "product_id": posted.product.id,
        "product_name": posted.product.name,
        "currency": posted.currency,
        "customer_name": posted.customer.name,
        "customer_email": posted.customer.email,
        "customer_timezone": posted.customer.timezone,
        "phone": posted.customer.phone,
        "language": posted.language or default_language,
    }


async def store_once(
    session: AsyncSession, model: type[Purchase], values: dict[str, Any], now: datetime, **line: Any
) -> Stored[Purchase]:
    """Insert the row unless its id is stored already; a new one's timeline line (`line`: whose,
    and what) is committed with it."""
    created = await insert_or_ignore(session, model, values)
    if created is not None:
        record(session, at=now, actor="backend", **line)
    await session.commit()
    row = created or await session.get(model, values["id"])
    assert row is not None
    return Stored(row, created is not None)
