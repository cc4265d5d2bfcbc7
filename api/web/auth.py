"""Signing in with a token, and out: every sign-in starts a brand-new session."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import SessionDep, SettingsDep, hash_token
from api.web import session as web_session
from api.web.i18n import language_of
from api.web.pages import Csrf, Posted, UserDep, backend_fingerprint, fingerprint, redirect, render
from db.models import Manager

router = APIRouter(prefix="/app", include_in_schema=False)


class LoginForm(BaseModel):
    token: str = Field("", max_length=200)
    csrf_token: str = Field("", max_length=200)  # the pre-session's


@router.get("/")
async def home(request: Request, settings: SettingsDep) -> Response:
    saved = web_session.load(request, settings)
    if saved is not None and saved.who == "backend":
        return RedirectResponse("/app/admin", status_code=303)
    return RedirectResponse("/app/tasks" if saved and saved.who else "/app/login", 303)


@router.get("/login")
async def login_form(request: Request, settings: SettingsDep) -> Response:
    """The sign-in form, with a pre-session that only carries its CSRF token."""
    saved = web_session.load(request, settings) or web_session.Session.fresh()
    return _form(request, settings, saved)


@router.post("/login")
async def login(
    request: Request, settings: SettingsDep, db: SessionDep, form: Posted[LoginForm]
) -> Response:
    """A manager's token opens the inbox, the backend token the shop view; a wrong one
    says so and changes nothing."""
    before = web_session.load(request, settings)
    if not web_session.csrf_ok(before, form.csrf_token):
        return _form(request, settings, web_session.Session.fresh(), "bad_csrf", 403)
    assert before is not None
    token = form.token.strip()
    if token and hmac.compare_digest(
        token.encode(), settings.backend_token.get_secret_value().encode()
    ):
        fresh = web_session.Session.fresh("backend", backend_fingerprint(settings))
        target = "/app/admin"
    else:
        manager = await db.scalar(select(Manager).where(Manager.token_hash == hash_token(token)))
        if manager is None or not token:
            return _form(request, settings, before, "wrong_token", 401)
        if not manager.active:
            return _form(request, settings, before, "inactive", 403)
        fresh = web_session.Session.fresh(f"manager:{manager.id}", fingerprint(manager.token_hash))
        target = "/app/tasks"
    response = RedirectResponse(target, status_code=303)
    web_session.save(response, fresh, settings)  # a new session id: no fixation
    return response


@router.post("/logout", dependencies=[Csrf])
async def logout(request: Request, settings: SettingsDep, _: UserDep) -> Response:
    response = redirect("/app/login", request)
    web_session.clear(response, settings)
    return response


def _form(
    request: Request,
    settings: SettingsDep,
    saved: web_session.Session,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    response = render(
        request,
        "login.html",
        language=language_of(request, None),
        timezone=settings.default_timezone,
        csrf=saved.csrf,
        error=error,
        status_code=status_code,
    )
    web_session.save(response, saved, settings)
    return response
