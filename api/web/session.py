"""The web app's session: a signed, expiring, HttpOnly cookie, and a CSRF token per session.

The cookie holds who signed in and a fingerprint of the token they used, never the token: a
new token or a deactivation ends the manager's sessions at the next request. Signing in
always starts a new session (new id, new CSRF token), so a session planted before sign-in
(session fixation) is worth nothing after it.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from settings import Settings

COOKIE = "chaser_session"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Session:
    sid: str
    csrf: str
    who: str | None = None  # "manager:<id>", "backend", or None before signing in
    fingerprint: str | None = None  # the start of the signed-in token's hash

    @staticmethod
    def fresh(who: str | None = None, fingerprint: str | None = None) -> Session:
        return Session(secrets.token_urlsafe(16), secrets.token_urlsafe(32), who, fingerprint)


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.session_secret.get_secret_value(), salt="chaser-web")


def load(request: Request, settings: Settings) -> Session | None:
    """The request's session; None when there is none, or it is forged or expired."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer(settings).loads(
            raw, max_age=int(settings.session_max_age.total_seconds())
        )
    except BadSignature:  # forged, or older than session_max_age (SignatureExpired)
        return None
    if not isinstance(data, dict):
        return None
    return Session(
        sid=str(data["sid"]),
        csrf=str(data["csrf"]),
        who=data.get("who"),
        fingerprint=data.get("fp"),
    )


def save(response: Response, session: Session, settings: Settings) -> None:
    value = _serializer(settings).dumps(
        {"sid": session.sid, "csrf": session.csrf, "who": session.who, "fp": session.fingerprint}
    )
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(settings.session_max_age.total_seconds()),
        path="/app",
        httponly=True,
        samesite="lax",
        secure=settings.public_base_url.startswith("https://"),
    )


def clear(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        COOKIE,
        path="/app",
        httponly=True,
        samesite="lax",
        secure=settings.public_base_url.startswith("https://"),
    )


def csrf_ok(session: Session | None, sent: str | None) -> bool:
    return session is not None and sent is not None and hmac.compare_digest(session.csrf, sent)
