"""The app's tables: orders, leads and subscriptions, their timelines, managers, tasks, the
email outbox, the webhook outbox, the suppression list and enrolment jobs."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, composite, declared_attr, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on both databases: SQLite drops the offset, so
    everything is stored in UTC and handed back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give it a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[str]: JSON}


@dataclass(frozen=True)
class Owner:
    """Whose timeline a line, a task or an email is on: an order's, a lead's or a
    subscription's (one id is set)."""

    order_id: str | None = None
    lead_id: str | None = None
    subscription_id: str | None = None

    @classmethod
    def of(cls, named: object) -> Owner:
        """The owner a workflow's request or a row names by its order_id, lead_id or
        subscription_id."""
        return cls(**{id_.name: getattr(named, id_.name, None) for id_ in fields(cls)})


class OwnedRow:
    """The columns of a row that belongs to an order, a lead or a subscription, and `owner`,
    the three as one value."""

    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"), index=True)
    lead_id: Mapped[str | None] = mapped_column(ForeignKey("leads.id"), index=True)
    subscription_id: Mapped[str | None] = mapped_column(ForeignKey("subscriptions.id"), index=True)

    @declared_attr
    def owner(cls) -> Mapped[Owner]:
        return composite(Owner, "order_id", "lead_id", "subscription_id")


class CustomerPurchase:
    """The columns of what a customer bought (an order or a subscription) and of the customer."""

    product_id: Mapped[str] = mapped_column(String(64), index=True)
    product_name: Mapped[str] = mapped_column(String(255))
    currency: Mapped[str] = mapped_column(String(3))
    customer_name: Mapped[str] = mapped_column(String(255))
    customer_email: Mapped[str] = mapped_column(String(320))
    # IANA; marketing emails keep to the send window there. None: DEFAULT_TIMEZONE.
    customer_timezone: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(2))


class Manager(Base):
    __tablename__ = "managers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320))
    signature: Mapped[str] = mapped_column(Text, default="")
    # sha256 of the bearer token: tokens are random and long, so a slow hash adds nothing.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The web app speaks this language and shows times in this zone to the manager.
    language: Mapped[str] = mapped_column(String(2), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    # Calls are placed inside these hours (`Mon-Fri 09:00-19:00`); none: WORKING_HOURS.
    working_hours: Mapped[str | None] = mapped_column(String(64))
    # A deactivated manager can no longer sign in or answer; their history stays.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    deactivated_at: Mapped[datetime | None]


class Order(CustomerPurchase, Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_created", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(20), index=True)
    paid_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("managers.id"))
    # positive (paid) / neutral (duplicate) / negative (cancelled, expired, no phone)
    outcome: Mapped[str | None] = mapped_column(String(10))
    end_reason: Mapped[str | None] = mapped_column(String(32))
    chase_started: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class OrderEvent(Base):
    """Backend events, kept by their event_id so a repeated post changes nothing."""

    __tablename__ = "order_events"

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    phone: Mapped[str | None] = mapped_column(String(32))
    occurred_at: Mapped[datetime | None]
    received_at: Mapped[datetime]
    # When the order's workflow heard of it; None: owed (api.redelivery sends it again).
    signalled_at: Mapped[datetime | None] = mapped_column(index=True)


class OrderPause(Base):
    """A pause of an order's chase, or an early resume (`until` empty), in the order asked:
    the id orders the changes for the chase, so a redelivered older one undoes nothing."""

    __tablename__ = "order_pauses"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    until: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(255))
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime]
    # When the chase heard of it; None: owed (api.redelivery sends it again).
    signalled_at: Mapped[datetime | None] = mapped_column(index=True)


class HistoryEntry(OwnedRow, Base):
    """One line of an order's or a lead's timeline: who did what, when."""

    __tablename__ = "history"
    __table_args__ = (
        Index("ix_history_order_at", "order_id", "at", "id"),
        Index("ix_history_lead_at", "lead_id", "at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # Set by activities so that a retried one writes its line once.
    key: Mapped[str | None] = mapped_column(String(255), unique=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(80))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Task(OwnedRow, Base):
    """A question for a manager that a workflow waits on."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_status_created", "status", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    workflow_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(String(255))
    call_script: Mapped[str | None] = mapped_column(Text)
    # The allowed answers; empty when the task asks for a date-time (`at`) or a number.
    options: Mapped[list[str]] = mapped_column(default=list)
    # The bounds of a number question (workflows.tasks.NUMBER_TASKS); None for the others.
    number_min: Mapped[int | None]
    number_max: Mapped[int | None]
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("managers.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), index=True)  # open / answered / closed
    close_reason: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(String(32))
    answer_at: Mapped[datetime | None]
    answer_number: Mapped[int | None]
    answer_valid_days: Mapped[int | None]  # a discount's validity, when given in days
    note: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(ForeignKey("managers.id"))
    # When the waiting workflow heard the answer; None on an answered task: owed.
    signalled_at: Mapped[datetime | None] = mapped_column(index=True)


class Email(OwnedRow, Base):
    """The outbox: one row per email a workflow asked for, keyed so a retry sends nothing new."""

    __tablename__ = "emails"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # message id, also the pixel's
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    to_addr: Mapped[str] = mapped_column(String(320))
    from_addr: Mapped[str] = mapped_column(String(400))
    subject: Mapped[str] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(12))  # pending / sent / suppressed / failed
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]


class Discount(Base):
    """A personal offer on an order: active until valid_until, then expired."""

    __tablename__ = "discounts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    percent: Mapped[int]
    valid_until: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10))  # active / expired / used
    created_at: Mapped[datetime]


class Instalment(Base):
    """One part of an order's instalment plan: due on a date, paid when the order's payments
    so far cover it and the parts before it."""

    __tablename__ = "instalments"
    __table_args__ = (UniqueConstraint("order_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    number: Mapped[int]  # 1-based
    parts: Mapped[int]  # how many the plan has
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10))  # due / paid / missed
    created_at: Mapped[datetime]


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (Index("ix_leads_status", "status"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320))
    responsible_manager_id: Mapped[str] = mapped_column(ForeignKey("managers.id"))
    status: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(2))
    chase_number: Mapped[int] = mapped_column(default=0)
    chase_round: Mapped[int] = mapped_column(default=0)
    emails_sent: Mapped[int] = mapped_column(default=0)
    next_email_due: Mapped[datetime | None]
    stopped_reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Subscription(CustomerPurchase, Base):
    """A customer's subscription to a product; `renewal-<id>` follows its current period."""

    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    # The manager the backend named; None: whoever sold the customer's last paid order.
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("managers.id"))
    status: Mapped[str] = mapped_column(String(10), index=True)  # active / lapsed / cancelled
    period: Mapped[int] = mapped_column(default=1)  # the current period, 1-based
    period_ends_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SubscriptionEvent(Base):
    """Backend events of a subscription, kept by event_id so a repeated post changes nothing."""

    __tablename__ = "subscription_events"

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))  # renewed / cancelled / period_changed
    period: Mapped[int]  # the period it applies to: a renewal renews this one
    period_ends_at: Mapped[datetime | None]  # renewed: the next period's end; period_changed
    received_at: Mapped[datetime]
    # When the renewal workflow heard of it; None: owed (api.redelivery sends it again).
    signalled_at: Mapped[datetime | None] = mapped_column(index=True)


class Renewal(Base):
    """How one period of a subscription ended, for the renewal conversion report."""

    __tablename__ = "renewals"
    __table_args__ = (UniqueConstraint("subscription_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    period: Mapped[int]
    period_ends_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(10))  # renewed / lapsed / cancelled
    # The renewal call's answer, if the manager gave one (renewing / declined / no_answer).
    call_answer: Mapped[str | None] = mapped_column(String(32))
    ended_at: Mapped[datetime]


class LeadEvent(Base):
    __tablename__ = "lead_events"

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime]


class Notification(Base):
    """A note to a manager (for instance: a follow-up went to your lead)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_manager_created", "manager_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    manager_id: Mapped[str] = mapped_column(ForeignKey("managers.id"), index=True)
    lead_id: Mapped[str | None] = mapped_column(ForeignKey("leads.id"))
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class Suppression(Base):
    """An address that gets no marketing email: it unsubscribed, bounced, or the shop said so."""

    __tablename__ = "suppressions"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)  # lower-cased
    reason: Mapped[str] = mapped_column(String(16))  # unsubscribed / bounced / manual
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class WebhookEndpoint(Base):
    """Where the shop hears of changes; `default` is WEBHOOK_URL from the environment."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Kept in clear: signing needs it (Standard Webhooks signs with a shared secret).
    secret: Mapped[str] = mapped_column(String(100))
    event_types: Mapped[list[str]] = mapped_column(default=list)  # empty: every type
    created_at: Mapped[datetime]


class WebhookEvent(Base):
    """The webhook outbox: one row per event, added in the transaction of the change it
    reports (db.history.record), so an event exists exactly when its change does."""

    __tablename__ = "webhook_events"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)  # the webhook-id, msg_...
    type: Mapped[str] = mapped_column(String(40))
    # order:<id> or lead:<id>: an endpoint gets one subject's events in order.
    subject: Mapped[str] = mapped_column(String(80))
    occurred_at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fanned_out: Mapped[bool] = mapped_column(default=False, index=True)


class WebhookDelivery(Base):
    """One event on its way to one endpoint: attempts, backoff, and how it ended."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("event_seq", "endpoint_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_seq: Mapped[int] = mapped_column(ForeignKey("webhook_events.seq"))
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), index=True)  # pending / delivered / failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    give_up_at: Mapped[datetime]
    last_status: Mapped[int | None]  # the receiver's HTTP status, None when it never answered
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class Enrollment(Base):
    """An enrolment job: orders matching a filter get their chases, in rate-limited batches."""

    __tablename__ = "enrollments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str | None] = mapped_column(String(64))
    created_before: Mapped[datetime | None]
    order_status: Mapped[str | None] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10))  # running / done
    found: Mapped[int] = mapped_column(default=0)
    started: Mapped[int] = mapped_column(default=0)
    # why orders were left alone: {"already_chased": n, "closed": n}
    skipped: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The last order id a batch handled: batches go through the orders by id.
    cursor: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
