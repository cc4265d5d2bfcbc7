"""Payment links signed with HMAC, so the shop's payment page can trust the order and discount."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Settings takes RENEWAL_LINK_TEMPLATE's default from here.
    from settings import Settings


@dataclass(frozen=True)
class PayToken:
    """What a verified payment token says: the order, and the discount the link keeps."""

    order_id: str
    discount_percent: int
    valid_until: datetime | None  # when the discount ends; None for no discount


@dataclass(frozen=True)
class RenewalToken:
    """What a verified renewal token says: the subscription and the period it pays for."""

    subscription_id: str
    period: int  # the period the link renews, 1-based: paying it starts period + 1


# Where a renewal link points unless RENEWAL_LINK_TEMPLATE says otherwise.
RENEWAL_LINK_TEMPLATE = "{base_url}/renew/{subscription_id}?token={token}"


@dataclass(frozen=True)
class PayLinks:
    template: str  # PAY_LINK_TEMPLATE, with {base_url}, {order_id} and {token}
    base_url: str
    secret: bytes
    # RENEWAL_LINK_TEMPLATE, with {base_url}, {subscription_id} and {token}
    renewal_template: str = RENEWAL_LINK_TEMPLATE

    def token(
        self, order_id: str, discount_percent: int = 0, valid_until: datetime | None = None
    ) -> str:
        """`<payload>.<signature>`; the payload names the order and the discount it keeps."""
        fields: dict[str, object] = {"o": order_id, "d": discount_percent}
        if discount_percent and valid_until is not None:
            fields["u"] = int(valid_until.timestamp())
        payload = json.dumps(fields, separators=(",", ":"))
        body = _b64(payload.encode())
        return f"{body}.{_b64(self._sign(body))}"

    def link(
        self, order_id: str, discount_percent: int = 0, valid_until: datetime | None = None
    ) -> str:
        return self.template.format(
            base_url=self.base_url.rstrip("/"),
            order_id=order_id,
            token=self.token(order_id, discount_percent, valid_until),
        )

    def renewal_link(self, subscription_id: str, period: int) -> str:
        """The link a renewal reminder carries: signed like a payment link, naming the
        subscription and the period it renews."""
        payload = json.dumps({"s": subscription_id, "p": period}, separators=(",", ":"))
        body = _b64(payload.encode())
        return self.renewal_template.format(
            base_url=self.base_url.rstrip("/"),
            subscription_id=subscription_id,
            token=f"{body}.{_b64(self._sign(body))}",
        )

    def verify_renewal(self, token: str) -> RenewalToken:
        """What a renewal token carries; ValueError when it is forged or garbled."""
        payload = self._payload(token)
        try:
            return RenewalToken(subscription_id=str(payload["s"]), period=int(payload["p"]))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"renewal token payload is garbled: {error}") from error

    def _payload(self, token: str) -> dict[str, Any]:
        body, _, signature = token.partition(".")
        if not hmac.compare_digest(_b64(self._sign(body)).encode(), signature.encode()):
            raise ValueError("token signature does not match")
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError as error:
            raise ValueError(f"token payload is garbled: {error}") from error
        if not isinstance(payload, dict):
            raise ValueError("token payload is garbled: not an object")
        return payload

    def verify(self, token: str) -> PayToken:
        """What a token carries; ValueError when it is forged or garbled."""
        body, _, signature = token.partition(".")
        if not hmac.compare_digest(_b64(self._sign(body)).encode(), signature.encode()):
            raise ValueError("payment token signature does not match")
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            until = payload.get("u")
            return PayToken(
                order_id=str(payload["o"]),
                discount_percent=int(payload["d"]),
                valid_until=datetime.fromtimestamp(int(until), UTC) if until is not None else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"payment token payload is garbled: {error}") from error

    def _sign(self, body: str) -> bytes:
        return hmac.new(self.secret, body.encode(), hashlib.sha256).digest()


def pay_links(settings: Settings) -> PayLinks:
    """The payment links of PAY_LINK_TEMPLATE, signed with PAY_LINK_SECRET."""
    return PayLinks(
        template=settings.pay_link_template,
        base_url=settings.public_base_url,
        secret=settings.pay_link_secret.get_secret_value().encode(),
        renewal_template=settings.renewal_link_template,
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
