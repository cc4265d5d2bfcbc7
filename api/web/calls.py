"""The call list (seed 001, section 5) and the search box: order id, email or phone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.deps import SessionDep
from api.services.reports import callable_orders
from api.web.pages import UserDep, page

router = APIRouter(prefix="/app/calls", include_in_schema=False)


@router.get("")
async def call_list(
    request: Request,
    user: UserDep,
    db: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """Unpaid open orders with a phone, oldest first; with `q`, the orders that match it."""
    query = q.strip()
    orders = await callable_orders(db, query or None)
    return page(request, user, "calls.html", orders=orders, q=query)
