"""Unsubscribe links (RFC 8058): a signed token naming the address, so no login is needed."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import quote

from settings import Settings


@dataclass(frozen=True)
class UnsubscribeLinks:
    base_url: str  # PUBLIC_BASE_URL: where POST /u/{token} is served
    mailto: str  # the address a mail client's "unsubscribe" writes to
    secret: bytes

    def token(self, email: str) -> str:
        body = _b64(email.strip().lower().encode())
        return f"{body}.{_b64(self._sign(body))}"

    def url(self, email: str) -> str:
        return f"{self.base_url.rstrip('/')}/u/{self.token(email)}"

    def headers(self, email: str) -> dict[str, str]:
        """List-Unsubscribe with the https link and a mailto, and one-click POST (RFC 8058)."""
        subject = quote(f"unsubscribe {self.token(email)}")
        return {
            "List-Unsubscribe": f"<{self.url(email)}>, <mailto:{self.mailto}?subject={subject}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }

    def verify(self, token: str) -> str:
        """The address a token names; ValueError when it is forged or garbled."""
        body, _, signature = token.partition(".")
        if not hmac.compare_digest(_b64(self._sign(body)).encode(), signature.encode()):
            raise ValueError("unsubscribe token signature does not match")
        try:
            return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError("unsubscribe token is garbled") from error

    def _sign(self, body: str) -> bytes:
        return hmac.new(self.secret, f"unsubscribe:{body}".encode(), hashlib.sha256).digest()


def unsubscribe_links(settings: Settings) -> UnsubscribeLinks:
    """Links on PUBLIC_BASE_URL and a mailto on MAIL_FROM's domain, signed with
    UNSUBSCRIBE_SECRET."""
    return UnsubscribeLinks(
        base_url=settings.public_base_url,
        mailto=f"unsubscribe@{sending_domain(settings.mail_from)}",
        secret=settings.unsubscribe_secret.get_secret_value().encode(),
    )


def sending_domain(sender: str) -> str:
    """The domain of MAIL_FROM (`Chaser <noreply@shop.example>` -> `shop.example`)."""
    _, address = parseaddr(sender)
    return address.rpartition("@")[2] or "localhost"


def message_id(email_id: str, sender: str) -> str:
    """The Message-ID of an outbox row: stable per row (so per outbox key), on our domain."""
    return f"<{email_id}@{sending_domain(sender)}>"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
