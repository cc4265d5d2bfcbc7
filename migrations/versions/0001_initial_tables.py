"""initial tables"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from migrations.tables import create_table, drop_table, integer, moment, serial, string

revision = "0001"
down_revision = None

# The table each foreign-key column points at.
REFERENCES = {
    "answered_by": "managers.id",
    "assignee_id": "managers.id",
    "lead_id": "leads.id",
    "manager_id": "managers.id",
    "order_id": "orders.id",
    "responsible_manager_id": "managers.id",
}

# Each table's one-column indexes, created in this order (named ix_<table>_<column>).
INDEXED = {
    "orders": ["product_id", "status"],
    "discounts": ["order_id"],
    "emails": ["lead_id", "order_id"],
    "history": ["lead_id", "order_id"],
    "lead_events": ["lead_id"],
    "notifications": ["manager_id"],
    "order_events": ["order_id"],
    "tasks": ["assignee_id", "kind", "lead_id", "order_id", "status"],
}

TABLES = [
    "managers",
    "leads",
    "orders",
    "discounts",
    "emails",
    "history",
    "lead_events",
    "notifications",
    "order_events",
    "tasks",
]


def _references(*columns: str) -> list[sa.ForeignKeyConstraint]:
    return [sa.ForeignKeyConstraint([column], [REFERENCES[column]]) for column in columns]


def _order_or_lead() -> list[sa.Column[Any]]:
    """The keys of a row that belongs to an order or to a lead."""
    return [string("order_id", 64, nullable=True), string("lead_id", 64, nullable=True)]


def _create(name: str, *elements: sa.schema.SchemaItem) -> None:
    create_table(name, *elements, indexed=INDEXED.get(name, []))


def upgrade() -> None:
    _create(
        "managers",
        string("id", 64),
        string("name", 255),
        string("email", 320),
        sa.Column("signature", sa.Text(), nullable=False),
        string("token_hash", 64),
        moment("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    _create(
        "leads",
        string("id", 64),
        string("title", 255),
        string("name", 255),
        string("email", 320),
        string("responsible_manager_id", 64),
        string("status", 32),
        string("language", 2),
        integer("chase_number"),
        integer("chase_round"),
        integer("emails_sent"),
        moment("next_email_due", nullable=True),
        string("stopped_reason", 32, nullable=True),
        moment("created_at"),
        moment("updated_at"),
        *_references("responsible_manager_id"),
        sa.PrimaryKeyConstraint("id"),
    )
    _create(
        "orders",
        string("id", 64),
        string("product_id", 64),
        string("product_name", 255),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        string("currency", 3),
        string("customer_name", 255),
        string("customer_email", 320),
        string("phone", 32, nullable=True),
        string("language", 2),
        string("status", 20),
        sa.Column("paid_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        string("assignee_id", 64, nullable=True),
        string("outcome", 10, nullable=True),
        string("end_reason", 32, nullable=True),
        sa.Column("chase_started", sa.Boolean(), nullable=False),
        moment("created_at"),
        moment("updated_at"),
        moment("ended_at", nullable=True),
        *_references("assignee_id"),
        sa.PrimaryKeyConstraint("id"),
    )
    _create(
        "discounts",
        serial("id"),
        string("key", 255),
        string("order_id", 64),
        integer("percent"),
        moment("valid_until"),
        string("status", 10),
        moment("created_at"),
        *_references("order_id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    _create(
        "emails",
        string("id", 32),
        string("key", 255),
        *_order_or_lead(),
        string("kind", 32),
        string("to_addr", 320),
        string("from_addr", 400),
        string("subject", 400),
        string("status", 12),
        sa.Column("error", sa.Text(), nullable=True),
        moment("created_at"),
        moment("sent_at", nullable=True),
        moment("opened_at", nullable=True),
        *_references("lead_id", "order_id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    _create(
        "history",
        serial("id"),
        string("key", 255, nullable=True),
        *_order_or_lead(),
        moment("at"),
        string("kind", 32),
        string("actor", 80),
        sa.Column("detail", sa.JSON(), nullable=False),
        *_references("lead_id", "order_id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    _create(
        "lead_events",
        string("event_id", 128),
        string("lead_id", 64),
        string("type", 32),
        string("status", 32, nullable=True),
        moment("received_at"),
        *_references("lead_id"),
        sa.PrimaryKeyConstraint("event_id"),
    )
    _create(
        "notifications",
        serial("id"),
        string("key", 255),
        string("manager_id", 64),
        string("lead_id", 64, nullable=True),
        string("order_id", 64, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        moment("created_at"),
        moment("read_at", nullable=True),
        *_references("lead_id", "manager_id", "order_id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    _create(
        "order_events",
        string("event_id", 128),
        string("order_id", 64),
        string("type", 32),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=True),
        string("phone", 32, nullable=True),
        moment("occurred_at", nullable=True),
        moment("received_at"),
        *_references("order_id"),
        sa.PrimaryKeyConstraint("event_id"),
    )
    _create(
        "tasks",
        serial("id"),
        string("key", 255),
        *_order_or_lead(),
        string("workflow_id", 255),
        string("kind", 32),
        string("title", 255),
        sa.Column("call_script", sa.Text(), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        string("assignee_id", 64, nullable=True),
        string("status", 10),
        string("close_reason", 64, nullable=True),
        moment("created_at"),
        moment("answered_at", nullable=True),
        string("answer", 32, nullable=True),
        moment("answer_at", nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        string("answered_by", 64, nullable=True),
        *_references("answered_by", "assignee_id", "lead_id", "order_id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )


def downgrade() -> None:
    for name in reversed(TABLES):
        drop_table(name, INDEXED.get(name, []))
