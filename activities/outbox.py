"""The email outbox shared by every activity that sends: a row per idempotency key, one send."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities import metrics
from db.history import record
from db.models import Email
from mail.backends import Mailer, PermanentDeliveryError


async def commit_once(session: AsyncSession, key: str) -> None:
    """Commit a row keyed for idempotency; a clash means another attempt is writing it."""
    try:
        await session.commit()
    except IntegrityError as error:
        # Another attempt with the same key got there first; Temporal retries us.
        raise RuntimeError(f"key {key!r} is being written") from error


async def deliver(
    session: AsyncSession,
    mailer: Mailer,
    email: Email,
    build: Callable[[], EmailMessage],
    at: datetime,
) -> None:
    """Build and send a pending outbox row, and record the outcome on it and on its timeline.
    A permanent refusal, or a message that cannot be built (a header refusing a name), is
    recorded as `failed`, then raised as PermanentDeliveryError for the caller to judge."""
    owner = {
        "order_id": email.order_id,
        "lead_id": email.lead_id,
        "subscription_id": email.subscription_id,
    }
    try:
        try:
            message = build()
        except ValueError as error:
            raise PermanentDeliveryError(f"the message cannot be built: {error}") from error
        await mailer.send(message)
    except PermanentDeliveryError as error:
        email.status, email.error = "failed", str(error)
        record(
            session,
            **owner,
            at=at,
            actor="system",
            kind="email_failed",
            email_kind=email.kind,
            message_id=email.id,
            error=str(error),
        )
        await session.commit()
        metrics.email_delivered(email.kind, "failed")
        activity.logger.warning("email %s %s refused: %s", email.kind, email.id, error)
        raise
    # When the server accepted it (the wall clock, not the workflow's `at`, which is when the
    # send was scheduled): what "delivered" means to the benchmark and to anyone reading the row.
    email.status, email.sent_at = "sent", datetime.now(UTC)
    record(
        session,
        **owner,
        at=at,
        actor="system",
        kind="email_sent",
        email_kind=email.kind,
        message_id=email.id,
        to=email.to_addr,
        subject=email.subject,
    )
    await session.commit()
    metrics.email_delivered(email.kind, "sent")
    activity.logger.info("email %s %s sent", email.kind, email.id)
