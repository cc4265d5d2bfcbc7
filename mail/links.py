"""Payment links signed with HMAC, so the shop's payment page can trust the order and discount.

A token is `<payload>.<signature>`: the payload is URL-safe base64 of compact JSON, the signature
HMAC-SHA256 of the payload under PAY_LINK_SECRET itself. itsdangerous's Signer, with no key
derivation and SHA-256, signs exactly so: links in emails sent before it keep working.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from itsdangerous import BadData, BadSignature, Signer
from itsdangerous.encoding import base64_decode, base64_encode

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
        return self._seal(fields)

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
        return self.renewal_template.format(
            base_url=self.base_url.rstrip("/"),
            subscription_id=subscription_id,
            token=self._seal({"s": subscription_id, "p": period}),
        )

    def verify(self, token: str) -> PayToken:
        """What a token carries; ValueError when it is forged or garbled."""
        payload = self._open(token, "payment")
        try:
            until = payload.get("u")
            return PayToken(
                order_id=str(payload["o"]),
                discount_percent=int(payload["d"]),
                valid_until=datetime.fromtimestamp(int(until), UTC) if until is not None else None,
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"payment token payload is garbled: {error}") from error

    def verify_renewal(self, token: str) -> RenewalToken:
        """What a renewal token carries; ValueError when it is forged or garbled."""
        payload = self._open(token, "renewal")
        try:
            return RenewalToken(subscription_id=str(payload["s"]), period=int(payload["p"]))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"renewal token payload is garbled: {error}") from error

    def _seal(self, fields: dict[str, object]) -> str:
        payload = json.dumps(fields, separators=(",", ":")).encode()
        return self._signer().sign(base64_encode(payload)).decode()

    def _open(self, token: str, what: str) -> dict[str, Any]:
        try:
            body = self._signer().unsign(token)
        except BadSignature as error:
            raise ValueError(f"{what} token signature does not match") from error
        try:
            payload = json.loads(base64_decode(body))
        except (BadData, ValueError) as error:
            raise ValueError(f"{what} token payload is garbled: {error}") from error
        if not isinstance(payload, dict):
            raise ValueError(f"{what} token payload is garbled: not an object")
        return payload

    def _signer(self) -> Signer:
        return Signer(self.secret, sep=".", key_derivation="none", digest_method=hashlib.sha256)


def pay_links(settings: Settings) -> PayLinks:
    """The payment links of PAY_LINK_TEMPLATE, signed with PAY_LINK_SECRET."""
    return PayLinks(
        template=settings.pay_link_template,
        base_url=settings.public_base_url,
        secret=settings.pay_link_secret.get_secret_value().encode(),
        renewal_template=settings.renewal_link_template,
    )
