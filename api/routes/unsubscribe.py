"""`/u/{token}`: one-click unsubscribe (RFC 8058) from the marketing emails, no login.

GET only shows a confirmation page with a button: link scanners and mail previews fetch
links, and must not unsubscribe anyone. POST, from that button or from the mail client's
List-Unsubscribe-Post, unsubscribes in one request.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from api.deps import ContextDep, SettingsDep
from api.errors import Invalid
from api.temporal import signal_best_effort
from db.history import record
from db.models import Order
from db.suppressions import suppress
from domain import CLOSED_STATUSES, order_workflow_id
from mail.unsubscribe import unsubscribe_links
from settings import Settings
from workflows.messages import Unsubscribed
from workflows.order_chase import OrderChase

router = APIRouter(tags=["unsubscribe"])


PAGE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "A page for the customer"}
}


@router.get("/u/{token}", response_class=Response, responses=PAGE)
async def confirm_unsubscribe(token: str, settings: SettingsDep) -> HTMLResponse:
    """The page behind the email's link: a button that unsubscribes."""
    email = _address(settings, token)
    return _page(
        "Unsubscribe?",
        f"<p>Stop the marketing emails to <b>{html.escape(email)}</b>? Emails about your "
        f"orders and payments still come.</p>"
        f'<form method="post"><button type="submit">Unsubscribe</button></form>',
    )


@router.post("/u/{token}", response_class=Response, responses=PAGE)
async def unsubscribe(token: str, ctx: ContextDep) -> HTMLResponse:
    """Suppress the address and stop the cadence of its running chases; twice is harmless."""
    session = ctx.session
    email = _address(ctx.settings, token)
    now = await ctx.clock()
    chased: list[str] = []
    if await suppress(session, email, "unsubscribed", now):
        orders = await session.scalars(
            select(Order).where(
                func.lower(Order.customer_email) == email, Order.status.not_in(CLOSED_STATUSES)
            )
        )
        for order in orders:
            record(
                session,
                order_id=order.id,
                at=now,
                actor="customer",
                kind="unsubscribed",
                email=email,
            )
            if order.chase_started:
                chased.append(order.id)
    await session.commit()
    for order_id in chased:
        # Stored first: a chase that does not hear of it still sends no marketing email,
        # because each send checks the suppression list.
        await signal_best_effort(
            ctx.temporal, order_workflow_id(order_id), OrderChase.unsubscribe, Unsubscribed(email)
        )
    return _page("Unsubscribed", f"<p>{html.escape(email)} gets no more marketing emails.</p>")


def _address(settings: Settings, token: str) -> str:
    try:
        return unsubscribe_links(settings).verify(token)
    except ValueError as error:
        raise Invalid("this unsubscribe link is not valid") from error


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body style='font-family: sans-serif'><h1>{title}</h1>{body}</body></html>"
    )
