"""Words every layer shares: the closed sets of statuses, outcomes and reasons, and the
workflow ids built from business keys. Standard library only, so workflows import it too."""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    NOT_CONFIRMED = "not_confirmed"
    PENDING = "pending"
    PAYMENT_PENDING = "payment_pending"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    CANCELLED = "cancelled"
    FALSE = "false"  # a duplicate or a mistake: kept out of conversion


CLOSED_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.CANCELLED, OrderStatus.FALSE})


class OrderEventType(StrEnum):
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    CANCELLED = "cancelled"
    PHONE_CHANGED = "phone_changed"
    EMAIL_CHANGED = "email_changed"  # the customer's address was fixed: the next emails go there


class Outcome(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


class Stage(StrEnum):
    """Where an order chase is (the ChaseStage search attribute). While a task waits for its
    answer the stage is the task's kind (TaskKind)."""

    STARTED = "started"
    GRACE = "grace"
    AWAITING_PHONE = "awaiting_phone"
    DIALING = "dialing"
    UNREACHABLE = "unreachable"
    AWAITING_PAYMENT_DATE = "awaiting_payment_date"
    AWAITING_CALLBACK = "awaiting_callback"
    INSTALMENTS_DUE = "instalments_due"  # special terms: waiting for the parts' payments
    FINISHED = "finished"


class EndReason(StrEnum):
    """Why an order chase ended."""

    PAID = "paid"
    PAID_AFTER_CANCEL = "paid_after_cancel"  # money wins: a payment after the chase gave up
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    DECLINED = "declined"
    NO_PHONE = "no_phone"
    DUPLICATE = "duplicate"
    MISTAKE = "mistake"  # the order was created by mistake: neutral, like a duplicate


class DialOutcome(StrEnum):
    REACHED = "reached"
    WRONG_NUMBER = "wrong_number"
    DUPLICATE = "duplicate"
    UNREACHABLE = "unreachable"


class EmailStatus(StrEnum):
    """An outbox row: pending until its one send, then settled."""

    PENDING = "pending"
    SENT = "sent"
    SUPPRESSED = "suppressed"  # not sent: the order closed, the chase stopped, or unsubscribed
    FAILED = "failed"  # refused for good


# The CRM status (the backend's own word) under which a lead is chased.
LEAD_CHASING = "chasing"


class LeadStopReason(StrEnum):
    """Why a lead chase stopped."""

    REPLIED = "replied"
    STATUS_CHANGED = "status_changed"
    NO_RESPONSE = "no_response"
    EMAIL_FAILED = "email_failed"
    SUPERSEDED = "superseded"  # a newer chase of the lead took over
    STOPPED = "stopped"


class OfferStatus(StrEnum):
    """A personal offer's discount (the discounts table's status)."""

    ACTIVE = "active"
    EXPIRED = "expired"
    USED = "used"


class InstalmentStatus(StrEnum):
    DUE = "due"
    PAID = "paid"  # the payments so far cover this part and the ones before it
    MISSED = "missed"  # its due date passed short


class TaskKind(StrEnum):
    TAKE_ORDER = "take_order"
    ASK_PHONE = "ask_phone"
    CALL = "call"
    WILL_PAY = "will_pay"
    PAYMENT_DATE = "payment_date"
    CONFIRM_CANCEL = "confirm_cancel"
    CALLBACK_TIME = "callback_time"
    EMAIL_BOUNCED = "email_bounced"  # the customer's address refused mail: check it
    RENEWAL_CALL = "renewal_call"  # a subscription ends soon: offer the customer to renew
    CHECKIN = "checkin"  # a while after a purchase: how do they like it, offer the next one
    NO_PHONE_CHECK = "no_phone_check"  # five days without a phone: check the order
    DISCOUNT = "discount"  # the percent (and validity) the manager grants on the call
    INSTALMENTS = "instalments"  # how many parts the customer pays in
    INSTALMENT_CALL = "instalment_call"  # a part's due date passed unpaid: call the customer


class TaskStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class SubscriptionEventType(StrEnum):
    RENEWED = "renewed"  # paid for the next period: `period_ends_at` is its end
    CANCELLED = "cancelled"
    PERIOD_CHANGED = "period_changed"  # the current period ends at another moment


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    LAPSED = "lapsed"  # the period ended without a renewal
    CANCELLED = "cancelled"


class RenewalOutcome(StrEnum):
    """How one period of a subscription ended: renewed is positive, the others negative."""

    RENEWED = "renewed"
    LAPSED = "lapsed"
    CANCELLED = "cancelled"


# Workflow ids. Order and lead ids never contain "/" (api.schemas.common.ID_PATTERN), so an id
# with a "/" after the order's can never be another order's chase.
SEPARATOR = "/"


def order_workflow_id(order_id: str) -> str:
    return f"order-{order_id}"


def dial_workflow_id(order_workflow: str, number: int) -> str:
    """The order chase's n-th dial child."""
    return f"{order_workflow}{SEPARATOR}dial-{number}"


def legacy_dial_workflow_id(order_workflow: str, number: int) -> str:
    """How dial children were named before the separator: chases started then keep it."""
    return f"{order_workflow}-dial-{number}"


def late_payment_workflow_id(order_id: str) -> str:
    """The short workflow that closes an order paid after its chase ended."""
    return f"{order_workflow_id(order_id)}{SEPARATOR}late-payment"


def lead_workflow_id(lead_id: str) -> str:
    return f"lead-{lead_id}"


def renewal_workflow_id(subscription_id: str) -> str:
    """One workflow id for every period of a subscription: it continues as new on renewal."""
    return f"renewal-{subscription_id}"


def checkin_workflow_id(order_id: str) -> str:
    return f"checkin-{order_id}"
