"""Mounting the web app on the API: its routers, static files, security headers, errors."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from api.asgi import HttpMiddleware
from api.web import admin, auth, calls, inbox, orders
from api.web.i18n import language_of, translator
from api.web.pages import BadCsrf, NotYours, SignInNeeded, make_page_templates, redirect, render

STATIC = Path(__file__).resolve().parent / "static"

# Only our own scripts and styles run; nothing may frame the pages or post them elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def install_web(app: FastAPI) -> None:
    app.state.page_templates = make_page_templates()
    app.mount("/app/static", StaticFiles(directory=STATIC), name="static")
    for module in (auth, inbox, orders, calls, admin):
        app.include_router(module.router)

    app.add_middleware(SecurityHeaders)

    async def sign_in(request: Request, _: Exception) -> Response:
        return redirect("/app/login", request)

    async def refused(request: Request, error: Exception) -> Response:
        t, _label = translator(language_of(request, None))
        message = t("bad_csrf") if isinstance(error, BadCsrf) else t("forbidden")
        return render(
            request,
            "error.html",
            language=language_of(request, None),
            timezone="UTC",
            status_code=403,
            message=message,
        )

    app.add_exception_handler(SignInNeeded, sign_in)
    app.add_exception_handler(NotYours, refused)
    app.add_exception_handler(BadCsrf, refused)


class SecurityHeaders(HttpMiddleware):
    """SECURITY_HEADERS on the web app's answers (static files keep their caching)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if not path.startswith("/app"):
            await self.app(scope, receive, send)
            return
        static = path.startswith("/app/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if not (static and name == "Cache-Control"):
                        headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
