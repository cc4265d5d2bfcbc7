"""The web app's session cookie: signed, and worth nothing once older than SESSION_MAX_AGE."""

from __future__ import annotations

import time
from datetime import timedelta

from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from pydantic import SecretStr
from starlette.requests import Request

from api.web import session as web_session
from settings import Settings


def request_with(cookie: str) -> Request:
    header = f"{web_session.COOKIE}={cookie}".encode()
    return Request({"type": "http", "headers": [(b"cookie", header)]})


def signed_at(settings: Settings, seconds_ago: float, secret: str | None = None) -> str:
    """A session cookie as the app writes it, signed `seconds_ago`."""

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - seconds_ago)

    serializer = URLSafeTimedSerializer(
        secret or settings.session_secret.get_secret_value(), salt="chaser-web", signer=Then
    )
    return serializer.dumps({"sid": "s", "csrf": "c", "who": "manager:olga", "fp": "f"})


def test_a_fresh_session_loads_an_old_or_forged_one_does_not() -> None:
    settings = Settings(
        session_secret=SecretStr("test-secret"), session_max_age=timedelta(hours=12)
    )
    loaded = web_session.load(request_with(signed_at(settings, 60)), settings)
    assert loaded == web_session.Session(sid="s", csrf="c", who="manager:olga", fingerprint="f")
    expired = signed_at(settings, timedelta(hours=13).total_seconds())
    assert web_session.load(request_with(expired), settings) is None
    forged = signed_at(settings, 60, secret="another-secret")
    assert web_session.load(request_with(forged), settings) is None
    assert web_session.load(request_with("garbage"), settings) is None


def test_csrf_must_match_the_session() -> None:
    session = web_session.Session.fresh("manager:olga", "f")
    assert web_session.csrf_ok(session, session.csrf)
    assert not web_session.csrf_ok(session, "guess")
    assert not web_session.csrf_ok(session, None)
    assert not web_session.csrf_ok(None, session.csrf)
    assert web_session.Session.fresh().sid != web_session.Session.fresh().sid
