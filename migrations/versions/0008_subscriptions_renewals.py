"""subscriptions, their events and renewals; tasks, history and emails of a subscription"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import db.models

revision = "0008"
down_revision = "0007"

# Tables whose rows may belong to a subscription instead of an order or a lead.
OWNED = ("tasks", "history", "emails")


def _subscription_id() -> sa.Column[Any]:
    """The indexed key of the subscription a row belongs to."""
    return sa.Column(
        "subscription_id",
        sa.String(64),
        sa.ForeignKey("subscriptions.id"),
        nullable=False,
        index=True,
    )


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("product_id", sa.String(64), nullable=False, index=True),
        sa.Column("product_name", sa.String(255), nullable=False),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("customer_name", sa.String(255), nullable=False),
        sa.Column("customer_email", sa.String(320), nullable=False),
        sa.Column("customer_timezone", sa.String(64), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("assignee_id", sa.String(64), sa.ForeignKey("managers.id"), nullable=True),
        sa.Column("status", sa.String(10), nullable=False, index=True),
        sa.Column("period", sa.Integer, nullable=False),
        sa.Column("period_ends_at", db.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_at", db.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", db.models.UtcDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "subscription_events",
        sa.Column("event_id", sa.String(128), primary_key=True),
        _subscription_id(),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("period", sa.Integer, nullable=False),
        sa.Column("period_ends_at", db.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("received_at", db.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("signalled_at", db.models.UtcDateTime(timezone=True), nullable=True, index=True),
    )
    op.create_table(
        "renewals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _subscription_id(),
        sa.Column("period", sa.Integer, nullable=False),
        sa.Column("period_ends_at", db.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("call_answer", sa.String(32), nullable=True),
        sa.Column("ended_at", db.models.UtcDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("subscription_id", "period"),
    )
    for name in OWNED:
        with op.batch_alter_table(name) as table:
            table.add_column(sa.Column("subscription_id", sa.String(64), nullable=True))
            table.create_foreign_key(
                f"fk_{name}_subscription_id", "subscriptions", ["subscription_id"], ["id"]
            )
            table.create_index(f"ix_{name}_subscription_id", ["subscription_id"])


def downgrade() -> None:
    for name in OWNED:
        with op.batch_alter_table(name) as table:
            table.drop_index(f"ix_{name}_subscription_id")
            table.drop_constraint(f"fk_{name}_subscription_id", type_="foreignkey")
            table.drop_column("subscription_id")
    op.drop_table("renewals")
    op.drop_table("subscription_events")
    op.drop_table("subscriptions")
