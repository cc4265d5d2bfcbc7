"""`GET /t/{message_id}.gif`: the open-tracking pixel in every customer email (no auth)."""

from __future__ import annotations

import base64
import re
from typing import Any, cast

from fastapi import APIRouter, Response
from sqlalchemy import CursorResult, update

from api.deps import ClockDep, MaybeTemporalDep, SessionDep
from api.metrics import MetricsDep
from api.temporal import signal_best_effort
from db.history import record
from db.models import Email
from domain import order_workflow_id
from workflows.messages import EmailOpened
from workflows.order_chase import OrderChase

router = APIRouter(tags=["tracking"])

# A transparent 1x1 GIF, 43 bytes.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
# Every load must reach us: a cached pixel is an open we never see.
NO_CACHE = {
    "Cache-Control": "no-store, no-cache, must-revalidate, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
}


@router.get(
    "/t/{message_id}.gif",
    response_class=Response,
    responses={200: {"content": {"image/gif": {}}, "description": "A 1x1 transparent GIF"}},
)
async def open_pixel(
    message_id: str,
    session: SessionDep,
    temporal: MaybeTemporalDep,
    clock: ClockDep,
    metrics: MetricsDep,
) -> Response:
    """The first load records the open and tells the order's chase; any id gets the GIF."""
    if re.fullmatch(r"[0-9a-f]{32}", message_id) is None:
        # Not a message id of ours (they are uuid4 hex): the image, and nothing looked up.
        return Response(content=PIXEL, media_type="image/gif", headers=NO_CACHE)
    now = await clock()
    # One conditional UPDATE decides which load was the first, even for two at once.
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(Email)
            .where(Email.id == message_id, Email.opened_at.is_(None))
            .values(opened_at=now)
        ),
    )
    if result.rowcount == 1:
        email = await session.get(Email, message_id)
        assert email is not None
        record(
            session,
            key=f"email_opened:{message_id}",
            order_id=email.order_id,
            lead_id=email.lead_id,
            subscription_id=email.subscription_id,
            at=now,
            actor="customer",
            kind="email_opened",
            email_kind=email.kind,
            message_id=message_id,
        )
        await session.commit()
        metrics.emails_opened.labels(kind=email.kind).inc()
        # Stored first: without Temporal, or when the chase does not hear it, the open costs
        # only the shortened wait, never the customer's image.
        if email.order_id is not None and temporal is not None:
            await signal_best_effort(
                temporal,
                order_workflow_id(email.order_id),
                OrderChase.email_opened,
                EmailOpened(message_id),
            )
    return Response(content=PIXEL, media_type="image/gif", headers=NO_CACHE)
