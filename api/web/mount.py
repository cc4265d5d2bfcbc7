"""Mounting the web app on the API: its routers, static files, security headers, errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

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

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if request.url.path.startswith("/app"):
            for name, value in SECURITY_HEADERS.items():
                if name == "Cache-Control" and request.url.path.startswith("/app/static/"):
                    continue
                response.headers.setdefault(name, value)
        return response

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
