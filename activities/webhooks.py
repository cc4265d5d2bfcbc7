"""Webhook delivery: the outbox's events fanned out to endpoints and posted, signed, in order.

At least once: a delivery is marked delivered only after the receiver's 2xx, so a crash between
the two sends it again, with the same `webhook-id` (the receiver deduplicates on it).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from temporalio import activity

from activities.built import DatabaseActivities
from db.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.events import DEFAULT_ENDPOINT
from webhooks.signing import sign

# Rows looked at per round: enough for a busy minute, small enough for one query.
ROUND_LIMIT = 2_000
# Different orders' events go out side by side, each order's one at a time.
PARALLEL_SUBJECTS = 16


@dataclass(frozen=True)
class WebhookSetup:
    """The endpoint from the environment (WEBHOOK_URL, WEBHOOK_SECRET) and the retry rules."""

    url: str | None = None
    secret: str | None = None
    first_retry: float = 5.0  # seconds; doubles per attempt...
    max_retry_gap: float = 7_200.0  # ...up to this
    retry_for: float = 3 * 86_400.0  # then the message is given up
    timeout: float = 10.0  # one attempt


@dataclass
class DeliverWebhooks:
    run_for: float  # seconds this activity keeps delivering before it returns
    poll: float  # seconds between looks for new events


@dataclass(frozen=True)
class _Attempt:
    """What one delivery needs, read once so that the subjects can be sent in parallel."""

    delivery_id: int
    attempts: int
    next_attempt_at: datetime
    give_up_at: datetime
    url: str
    secret: str
    message_id: str
    body: str


@dataclass(frozen=True)
class Outcome:
    status: str  # delivered / pending (retry) / failed (given up)
    http_status: int | None
    error: str | None
    retry_after: float | None = None  # seconds the receiver asked for (429 Retry-After)


def body_of(event: WebhookEvent) -> str:
    """The JSON body: the same bytes on every attempt, so a signature check sees one message."""
    payload = {
        "id": event.id,
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


def judge(response: httpx.Response) -> Outcome:
    """2xx delivers; 408, 429 and 5xx retry; any other 4xx stops this message for good."""
    code = response.status_code
    if 200 <= code < 300:
        return Outcome("delivered", code, None)
    error = f"HTTP {code}: {response.text[:200]}"
    if 400 <= code < 500 and code not in (408, 429):
        return Outcome("failed", code, error)
    retry_after = _retry_after(response.headers.get("retry-after")) if code == 429 else None
    return Outcome("pending", code, error, retry_after)


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)


class WebhookActivities(DatabaseActivities[WebhookSetup]):
    @activity.defn
    async def deliver_webhooks(self, request: DeliverWebhooks) -> None:
        """Deliver what is due, round after round, for `run_for` seconds; heartbeats say alive."""
        await self._sync_default_endpoint()
        deadline = time.monotonic() + request.run_for
        async with httpx.AsyncClient(timeout=self.setup.timeout) as http:
            while time.monotonic() < deadline:
                activity.heartbeat()
                await self.deliver_round(http)
                await asyncio.sleep(request.poll)

    async def deliver_round(self, http: httpx.AsyncClient) -> None:
        """Fan new events out, then send each line's due messages in order."""
        await self._fan_out()
        lines = await self._due_lines()
        gate = asyncio.Semaphore(PARALLEL_SUBJECTS)

        async def send_line(line: list[_Attempt]) -> None:
            async with gate:
                await self._send_line(http, line)

        await asyncio.gather(*(send_line(line) for line in lines.values()))

    async def _sync_default_endpoint(self) -> None:
        """WEBHOOK_URL as the endpoint `default`: created, updated, or removed with the setting."""
        async with self.sessions() as session, session.begin():
            endpoint = await session.get(WebhookEndpoint, DEFAULT_ENDPOINT)
            if self.setup.url is None or self.setup.secret is None:
                if endpoint is not None:
                    await session.delete(endpoint)
                return
            if endpoint is None:
                session.add(
                    WebhookEndpoint(
                        id=DEFAULT_ENDPOINT,
                        url=self.setup.url,
                        secret=self.setup.secret,
                        event_types=[],
                        created_at=datetime.now(UTC),
                    )
                )
            else:
                endpoint.url, endpoint.secret = self.setup.url, self.setup.secret

    async def _fan_out(self) -> None:
        """One pending delivery per new event and endpoint that wants its type."""
        async with self.sessions() as session:
            events = list(
                await session.scalars(
                    select(WebhookEvent)
                    .where(WebhookEvent.fanned_out.is_(False))
                    .order_by(WebhookEvent.seq)
                    .limit(ROUND_LIMIT)
                )
            )
            if not events:
                return
            endpoints = list(await session.scalars(select(WebhookEndpoint)))
            now = datetime.now(UTC)
            give_up_at = now + timedelta(seconds=self.setup.retry_for)
            for event in events:
                for endpoint in endpoints:
                    if endpoint.event_types and event.type not in endpoint.event_types:
                        continue
                    session.add(
                        WebhookDelivery(
                            event_seq=event.seq,
                            endpoint_id=endpoint.id,
                            status="pending",
                            next_attempt_at=now,
                            give_up_at=give_up_at,
                            created_at=now,
                        )
                    )
                event.fanned_out = True
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()  # a second delivery loop fanned them out first

    async def _due_lines(self) -> dict[tuple[str, str], list[_Attempt]]:
        """Pending deliveries by (endpoint, subject), oldest event first: one line each."""
        async with self.sessions() as session:
            rows = await session.execute(
                select(WebhookDelivery, WebhookEvent, WebhookEndpoint)
                .join(WebhookEvent, WebhookEvent.seq == WebhookDelivery.event_seq)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .where(WebhookDelivery.status == "pending")
                .order_by(WebhookEvent.seq)
                .limit(ROUND_LIMIT)
            )
            lines: dict[tuple[str, str], list[_Attempt]] = {}
            for delivery, event, endpoint in rows:
                lines.setdefault((endpoint.id, event.subject), []).append(
                    _Attempt(
                        delivery_id=delivery.id,
                        attempts=delivery.attempts,
                        next_attempt_at=delivery.next_attempt_at,
                        give_up_at=delivery.give_up_at,
                        url=endpoint.url,
                        secret=endpoint.secret,
                        message_id=event.id,
                        body=body_of(event),
                    )
                )
            return lines

    async def _send_line(self, http: httpx.AsyncClient, line: Iterable[_Attempt]) -> None:
        """Send one subject's deliveries in order; one that must wait holds back the rest."""
        for attempt in line:
            if attempt.next_attempt_at > datetime.now(UTC):
                return
            outcome = await self._post(http, attempt)
            if not await self._record(attempt, outcome):
                return

    async def _post(self, http: httpx.AsyncClient, attempt: _Attempt) -> Outcome:
        activity.heartbeat()  # a round of slow receivers must not look like a dead worker
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": attempt.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(attempt.secret, attempt.message_id, timestamp, attempt.body),
        }
        try:
            response = await http.post(attempt.url, content=attempt.body, headers=headers)
        except httpx.TransportError as error:  # refused, reset, timed out: the receiver is away
            return Outcome("pending", None, f"{type(error).__name__}: {error}")
        return judge(response)

    async def _record(self, attempt: _Attempt, outcome: Outcome) -> bool:
        """Store the attempt's outcome; True when the line may go on to its next message."""
        now = datetime.now(UTC)
        status = outcome.status
        async with self.sessions() as session, session.begin():
            delivery = await session.get(WebhookDelivery, attempt.delivery_id)
            if delivery is None or delivery.status != "pending":
                return True  # deleted with its endpoint, or handled by another loop
            delivery.attempts += 1
            delivery.last_status, delivery.last_error = outcome.http_status, outcome.error
            if status == "delivered":
                delivery.delivered_at = now
            elif status == "pending":
                gap = outcome.retry_after
                if gap is None:
                    gap = min(
                        self.setup.first_retry * 2 ** (delivery.attempts - 1),
                        self.setup.max_retry_gap,
                    )
                delivery.next_attempt_at = now + timedelta(seconds=gap)
                if delivery.next_attempt_at > delivery.give_up_at:
                    status = "failed"  # retried for WEBHOOK_RETRY_FOR: given up
            delivery.status = status
        return status != "pending"
