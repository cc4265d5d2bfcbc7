"""Business counters recorded where the event happens, inside the activity that makes it:
they go out with the Temporal SDK's own metrics on the worker's Prometheus endpoint
(WORKER_METRICS_PORT; the SDK writes counters without `_total`). Outside a worker with metrics
the SDK's meter records nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity


def email_delivered(kind: str, status: str) -> None:
    """An email left the outbox: `sent`, or `failed` when the server refused it for good."""
    activity.metric_meter().create_counter(
        "chaser_emails", "Emails out of the outbox by kind and status", "emails"
    ).add(1, {"kind": kind, "status": status})


def chase_ended(product_id: str, status: str, outcome: str, reason: str) -> None:
    """An order chase ended: paid, cancelled (why) or false, per product."""
    activity.metric_meter().create_counter(
        "chaser_order_outcomes", "Order chases ended, by product, outcome and reason", "chases"
    ).add(1, {"product_id": product_id, "status": status, "outcome": outcome, "reason": reason})


def thank_you_sent(paid_at: datetime) -> None:
    """The thank-you went out: how long after the payment ended the chase."""
    seconds = max((datetime.now(UTC) - paid_at).total_seconds(), 0.0)
    activity.metric_meter().create_histogram_float(
        "chaser_paid_to_thank_you_seconds", "From the payment to its thank-you email", "s"
    ).record(seconds)
