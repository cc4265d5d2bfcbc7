"""Webhook endpoints the shop registers, and what was delivered to them (backend token)."""

from __future__ import annotations

from typing import Literal
from uuid import uuid4

from fastapi import APIRouter, Response
from sqlalchemy import select

from api.deps import BackendDep, ClockDep, SessionDep, SettingsDep
from api.errors import Conflict, NotFound, responses
from api.lookup import get_or_404
from api.schemas.common import can_be_id, can_be_row_id, from_row
from api.schemas.webhooks import DeliveryOut, EndpointIn, EndpointOut, NewEndpointOut
from db.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.events import DEFAULT_ENDPOINT
from webhooks.signing import new_secret

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post("", status_code=201)
async def add_endpoint(
    body: EndpointIn, session: SessionDep, clock: ClockDep, _: BackendDep
) -> NewEndpointOut:
    """A new endpoint with its own secret, shown this once; it hears of events from now on."""
    endpoint = WebhookEndpoint(
        id=f"ep_{uuid4().hex[:16]}",
        url=str(body.url),
        secret=new_secret(),
        event_types=list(body.event_types),
        created_at=await clock(),
    )
    session.add(endpoint)
    await session.commit()
    return NewEndpointOut(**_endpoint_out(endpoint).model_dump(), secret=endpoint.secret)


@router.get("")
async def list_endpoints(session: SessionDep, _: BackendDep) -> list[EndpointOut]:
    """Every endpoint, `default` (WEBHOOK_URL) included; secrets are never shown again."""
    endpoints = await session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.created_at))
    return [_endpoint_out(endpoint) for endpoint in endpoints]


@router.get("/deliveries")
async def list_deliveries(
    session: SessionDep,
    _: BackendDep,
    status: Literal["pending", "delivered", "failed"] | None = None,
    endpoint_id: str | None = None,
    limit: int = 100,
) -> list[DeliveryOut]:
    """Deliveries, newest first: attempts, the receiver's last answer, what happens next."""
    query = (
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.seq == WebhookDelivery.event_seq)
        .order_by(WebhookDelivery.id.desc())
        .limit(max(1, min(limit, 1000)))
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if endpoint_id is not None:
        if not can_be_id(endpoint_id):
            return []  # no endpoint has such an id
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    rows = await session.execute(query)
    return [_delivery_out(delivery, event) for delivery, event in rows]


@router.post("/deliveries/{delivery_id}/redeliver", status_code=202, responses=responses(404))
async def redeliver(
    delivery_id: int, session: SessionDep, settings: SettingsDep, clock: ClockDep, _: BackendDep
) -> DeliveryOut:
    """Send a message again (same webhook-id), with a fresh WEBHOOK_RETRY_FOR of retries."""
    delivery = (
        await session.get(WebhookDelivery, delivery_id) if can_be_row_id(delivery_id) else None
    )
    if delivery is None:
        raise NotFound("delivery", delivery_id)
    event = await session.get(WebhookEvent, delivery.event_seq)
    assert event is not None  # a delivery's event is never deleted
    now = await clock()
    delivery.status, delivery.next_attempt_at = "pending", now
    delivery.give_up_at = now + settings.webhook_retry_for
    await session.commit()
    return _delivery_out(delivery, event)


@router.delete(
    "/{endpoint_id}", status_code=204, response_class=Response, responses=responses(404, 409)
)
async def delete_endpoint(endpoint_id: str, session: SessionDep, _: BackendDep) -> Response:
    """Remove an endpoint and its undelivered messages."""
    if endpoint_id == DEFAULT_ENDPOINT:
        raise Conflict("the default endpoint comes from WEBHOOK_URL: unset it to remove it")
    endpoint = await get_or_404(session, WebhookEndpoint, "webhook endpoint", endpoint_id)
    deliveries = await session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    )
    for delivery in deliveries:
        await session.delete(delivery)
    await session.delete(endpoint)
    await session.commit()
    return Response(status_code=204)


def _endpoint_out(endpoint: WebhookEndpoint) -> EndpointOut:
    return from_row(EndpointOut, endpoint)


def _delivery_out(delivery: WebhookDelivery, event: WebhookEvent) -> DeliveryOut:
    return from_row(
        DeliveryOut,
        delivery,
        message_id=event.id,
        event_type=event.type,
        subject=event.subject,
    )
