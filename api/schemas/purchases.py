"""What an order and a subscription share: the product and the customer, in and out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, EmailStr

from api.schemas.common import Id, ModelT, OneLine, Phone, TimeZone, from_row

if TYPE_CHECKING:
    from db.models import CustomerPurchase


class Product(BaseModel):
    id: Id
    name: OneLine


class Customer(BaseModel):
    name: OneLine
    email: EmailStr
    phone: Phone | None = None
    # Marketing emails keep to SEND_WINDOW in this zone; DEFAULT_TIMEZONE when absent.
    timezone: TimeZone | None = None


class ProductOut(BaseModel):
    id: str
    name: str

    @classmethod
    def of(cls, bought: CustomerPurchase) -> ProductOut:
        return cls(id=bought.product_id, name=bought.product_name)


class CustomerOut(BaseModel):
    """As stored: answers show what is there, even text from before today's input rules."""

    name: str
    email: str
    phone: str | None = None
    timezone: str | None = None  # None: DEFAULT_TIMEZONE

    @classmethod
    def of(cls, bought: CustomerPurchase) -> CustomerOut:
        return cls(
            name=bought.customer_name,
            email=bought.customer_email,
            phone=bought.phone,
            timezone=bought.customer_timezone,
        )


def purchase_out(schema: type[ModelT], bought: CustomerPurchase) -> ModelT:
    """An order's or a subscription's answer body: its row, the product and customer nested."""
    return from_row(schema, bought, product=ProductOut.of(bought), customer=CustomerOut.of(bought))
