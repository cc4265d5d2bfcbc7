"""`POST /v1/pay-links/verify` and `/verify-renewal`: what a link's token is worth to the shop."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import BackendDep, ClockDep, SessionDep, SettingsDep
from api.errors import Invalid, responses
from api.lookup import get_or_404
from db.models import Discount, Order, Subscription
from domain import CLOSED_STATUSES, OfferStatus, SubscriptionStatus
from mail.links import pay_links

router = APIRouter(prefix="/v1/pay-links", tags=["payment links"])

Token = TypeVar("Token")


class PayTokenIn(BaseModel):
    token: str = Field(min_length=1, max_length=2000)


class PayTokenOut(BaseModel):
    order_id: str
    order_status: str
    discount_percent: int  # what the link was sent with
    discount_valid_until: datetime | None
    discount_active: bool  # whether the shop should still honour it now


@router.post("/verify", responses=responses(404))
async def verify_pay_token(
    body: PayTokenIn, session: SessionDep, settings: SettingsDep, clock: ClockDep, _: BackendDep
) -> PayTokenOut:
    """Check a payment link's signature and say which order and discount it carries."""
    token = _verified(pay_links(settings).verify, body.token, "payment")
    order = await get_or_404(session, Order, "order", token.order_id)
    active = False
    if order.status not in CLOSED_STATUSES and token.discount_percent and token.valid_until:
        # The signature proves we sent it; the discounts table says it still stands.
        granted = await session.scalar(
            select(Discount.id).where(
                Discount.order_id == order.id,
                Discount.percent == token.discount_percent,
                Discount.status == OfferStatus.ACTIVE,
            )
        )
        active = granted is not None and await clock() < token.valid_until
    return PayTokenOut(
        order_id=order.id,
        order_status=order.status,
        discount_percent=token.discount_percent,
        discount_valid_until=token.valid_until,
        discount_active=active,
    )


class RenewalTokenOut(BaseModel):
    subscription_id: str
    subscription_status: SubscriptionStatus
    period: int  # the period the link renews; paying it starts the next one
    price: Decimal
    currency: str
    # Whether the shop should take the payment: the link renews the current period of a
    # subscription that is not cancelled (a lapsed one is revived by its renewal).
    current: bool


@router.post("/verify-renewal", responses=responses(404))
async def verify_renewal_token(
    body: PayTokenIn, session: SessionDep, settings: SettingsDep, _: BackendDep
) -> RenewalTokenOut:
    """Check a renewal link's signature and say which subscription and period it renews."""
    token = _verified(pay_links(settings).verify_renewal, body.token, "renewal")
    subscription = await get_or_404(session, Subscription, "subscription", token.subscription_id)
    return RenewalTokenOut(
        subscription_id=subscription.id,
        subscription_status=SubscriptionStatus(subscription.status),
        period=token.period,
        price=subscription.price,
        currency=subscription.currency,
        current=token.period == subscription.period
        and subscription.status != SubscriptionStatus.CANCELLED,
    )


def _verified(verify: Callable[[str], Token], token: str, what: str) -> Token:
    """What a link's token carries once its signature checks out; a 422 otherwise."""
    try:
        return verify(token)
    except ValueError as error:
        raise Invalid(f"{what} token is not valid: {error}") from error
