"""Which timeline lines the shop hears of: one mapping from a history kind to webhook events.

Every change is written with its timeline line (db.history.record), so deriving the events there
puts each one in the same transaction as the change it reports.
"""

from __future__ import annotations

from typing import Any

# The id of the endpoint that WEBHOOK_URL configures (the others come through the API).
DEFAULT_ENDPOINT = "default"

# The event types an endpoint may subscribe to.
EVENT_TYPES = (
    "order.status_changed",
    "order.assigned",
    "order.chase_ended",
    "order.paused",
    "order.resumed",
    "task.created",
    "task.answered",
    "email.sent",
    "email.opened",
    "email.failed",
    "email.unsubscribed",
    "discount.granted",
    "discount.expired",
    "instalments.planned",
    "instalments.missed",
    "lead.chase_started",
    "lead.email_sent",
    "lead.chase_ended",
    "subscription.created",
    "subscription.period_ended",
)

# history kind -> event type, for order lines and for lead lines
_ORDER_EVENTS = {
    "status_changed": "order.status_changed",
    "assigned": "order.assigned",
    "paused": "order.paused",
    "resumed": "order.resumed",
    "task_created": "task.created",
    "task_answered": "task.answered",
    "call_result": "task.answered",
    "email_sent": "email.sent",
    "email_opened": "email.opened",
    "email_failed": "email.failed",
    "unsubscribed": "email.unsubscribed",
    "discount_granted": "discount.granted",
    "discount_expired": "discount.expired",
    "instalment_plan": "instalments.planned",
    "instalment_missed": "instalments.missed",
}
_LEAD_EVENTS = {
    "chase_started": "lead.chase_started",
    "email_sent": "lead.email_sent",
    "email_opened": "email.opened",
    "email_failed": "email.failed",
    "chase_stopped": "lead.chase_ended",
}

_SUBSCRIPTION_EVENTS = {
    "subscription_created": "subscription.created",
    "period_ended": "subscription.period_ended",
    "task_created": "task.created",
    "task_answered": "task.answered",
    "email_sent": "email.sent",
    "email_opened": "email.opened",
    "email_failed": "email.failed",
}


def events_for(
    kind: str,
    order_id: str | None,
    lead_id: str | None,
    detail: dict[str, Any],
    subscription_id: str | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """The (type, data) webhook events a timeline line makes; most lines make none."""
    if order_id is not None:
        event = _ORDER_EVENTS.get(kind)
        owner: dict[str, Any] = {"order_id": order_id}
    elif lead_id is not None:
        event = _LEAD_EVENTS.get(kind)
        owner = {"lead_id": lead_id}
    elif subscription_id is not None:
        event = _SUBSCRIPTION_EVENTS.get(kind)
        owner = {"subscription_id": subscription_id}
    else:
        return []
    # A lead's timeline also holds the notices to its manager: the shop hears of follow-ups.
    if event is None or detail.get("email_kind") == "lead_sent_notice":
        return []
    events = [(event, {**owner, **detail})]
    # The line that ends a chase carries its outcome (activities.orders.finish_order).
    if kind == "status_changed" and "outcome" in detail:
        ended = {"status": detail["new"], "outcome": detail["outcome"], "reason": detail["reason"]}
        events.append(("order.chase_ended", {**owner, **ended}))
    return events


def subject_of(
    order_id: str | None, lead_id: str | None, subscription_id: str | None = None
) -> str:
    """What events are ordered by: an endpoint gets one order's (lead's, subscription's)
    events in order."""
    if order_id is not None:
        return f"order:{order_id}"
    return f"lead:{lead_id}" if lead_id is not None else f"subscription:{subscription_id}"
