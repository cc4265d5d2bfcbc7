"""Payment links signed with HMAC, so the shop's payment page can trust the order and discount."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class PayToken:
    """What a verified payment token says: the order, and the discount the link keeps."""

    order_id: str
    discount_percent: int
    valid_until: datetime | None  # when the discount ends; None for no discount


@dataclass(frozen=True)
class PayLinks:
    template: str  # PAY_LINK_TEMPLATE, with {base_url}, {order_id} and {token}
    base_url: str
    secret: bytes

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


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
