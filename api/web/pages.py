"""What every page shares: who is signed in, the CSRF check, and rendering in their language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from api.deps import SessionDep, SettingsDep, hash_token
from api.web import session as web_session
from api.web.i18n import language_of, translator
from db.models import Manager, Task
from domain import TaskKind
from mail.render import TEMPLATES_DIR
from settings import Settings

# A session remembers this much of the token's hash: enough to notice a new token.
FINGERPRINT = 16


def make_page_templates() -> jinja2.Environment:
    """The pages' environment: autoescaped (customer text is always escaped), strict."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR / "app"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def fingerprint(token_hash: str) -> str:
    return token_hash[:FINGERPRINT]


def backend_fingerprint(settings: Settings) -> str:
    return fingerprint(hash_token(settings.backend_token.get_secret_value()))


@dataclass(frozen=True)
class WebUser:
    """A signed-in manager, or the shop (manager None) for the admin view."""

    manager: Manager | None
    session: web_session.Session
    language: str
    timezone: str

    @property
    def actor(self) -> str:
        return f"manager:{self.manager.id}" if self.manager else "backend"


class SignInNeeded(Exception):
    """No valid session: the page sends the browser to the sign-in form."""


class NotYours(Exception):
    """A page of the other kind of user (the shop view for a manager, or the reverse)."""


async def current_user(request: Request, settings: SettingsDep, db: SessionDep) -> WebUser:
    saved = web_session.load(request, settings)
    if saved is None or saved.who is None:
        raise SignInNeeded
    if saved.who == "backend":
        if saved.fingerprint != backend_fingerprint(settings):
            raise SignInNeeded
        language = language_of(request, None)
        return WebUser(None, saved, language, settings.default_timezone)
    manager = await db.get(Manager, saved.who.removeprefix("manager:"))
    # A new token or a deactivation ends every session signed in with the old one.
    if (
        manager is None
        or not manager.active
        or saved.fingerprint != fingerprint(manager.token_hash)
    ):
        raise SignInNeeded
    return WebUser(manager, saved, language_of(request, manager.language), manager.timezone)


UserDep = Annotated[WebUser, Depends(current_user)]


async def require_manager(user: UserDep) -> WebUser:
    if user.manager is None:
        raise NotYours
    return user


async def require_backend(user: UserDep) -> WebUser:
    if user.manager is not None:
        raise NotYours
    return user


ManagerUser = Annotated[WebUser, Depends(require_manager)]
BackendUser = Annotated[WebUser, Depends(require_backend)]


class BadCsrf(Exception):
    """A form without this session's CSRF token: refused, nothing changed."""


async def check_csrf(request: Request, user: UserDep) -> None:
    """Every form carries the session's token in a hidden field."""
    value = (await request.form()).get(web_session.CSRF_FIELD)
    if not web_session.csrf_ok(user.session, value if isinstance(value, str) else None):
        raise BadCsrf


Csrf = Depends(check_csrf)

Fields = TypeVar("Fields", bound=BaseModel)
# A form's fields, read as one model: `form: Posted[PauseForm]`.
Posted = Annotated[Fields, Form()]


def render(
    request: Request,
    name: str,
    *,
    language: str,
    timezone: str,
    user: WebUser | None = None,
    csrf: str = "",
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    t, label = translator(language)
    zone = ZoneInfo(timezone)

    def local(moment: datetime | None, with_zone: bool = False) -> str:
        """A moment in the viewer's zone, minutes precision."""
        if moment is None:
            return ""
        text = moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        return f"{text} ({timezone})" if with_zone else text

    def answer_text(task: Task) -> str:
        """A task's answer as the page says it: a label, a moment, or a number."""
        if task.answer == "at":
            return local(task.answer_at, True)
        if task.answer != "number":
            return label(task.answer or "")
        if task.kind != TaskKind.DISCOUNT:
            return str(task.answer_number)
        if task.answer_valid_days is not None:
            return t("percent_for", n=task.answer_number, days=task.answer_valid_days)
        return t("percent_until", n=task.answer_number, at=local(task.answer_at, True))

    templates: jinja2.Environment = request.app.state.page_templates
    html = templates.get_template(name).render(
        t=t,
        label=label,
        lang=language,
        user=user,
        csrf=user.session.csrf if user else csrf,
        local=local,
        answer_text=answer_text,
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def page(request: Request, user: WebUser, name: str, **context: Any) -> HTMLResponse:
    """A page for the signed-in user, in their language and time zone."""
    return render(
        request, name, language=user.language, timezone=user.timezone, user=user, **context
    )


def redirect(url: str, request: Request) -> Response:
    """A redirect; an htmx request (a poll whose session ended) is told to navigate instead,
    or it would swap the sign-in page into the list."""
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)
