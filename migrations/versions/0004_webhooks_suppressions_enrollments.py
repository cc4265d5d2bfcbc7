"""webhooks suppressions enrollments"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations.tables import create_table, drop_table, integer, moment, serial, string

revision = "0004"
down_revision = "0003"

INDEXED = {"webhook_events": ["fanned_out"], "webhook_deliveries": ["endpoint_id", "status"]}


def upgrade() -> None:
    op.create_table(
        "enrollments",
        string("id", 40),
        string("product_id", 64, nullable=True),
        moment("created_before", nullable=True),
        string("order_status", 20, nullable=True),
        string("state", 10),
        integer("found"),
        integer("started"),
        sa.Column("skipped", sa.JSON(), nullable=False),
        string("cursor", 64, nullable=True),
        moment("created_at"),
        moment("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "suppressions",
        string("email", 320),
        string("reason", 16),
        sa.Column("detail", sa.Text(), nullable=True),
        moment("created_at"),
        sa.PrimaryKeyConstraint("email"),
    )
    op.create_table(
        "webhook_endpoints",
        string("id", 40),
        string("url", 2000),
        string("secret", 100),
        sa.Column("event_types", sa.JSON(), nullable=False),
        moment("created_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_table(
        "webhook_events",
        serial("seq"),
        string("id", 40),
        string("type", 40),
        string("subject", 80),
        moment("occurred_at"),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("fanned_out", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
        indexed=INDEXED["webhook_events"],
    )
    create_table(
        "webhook_deliveries",
        serial("id"),
        integer("event_seq"),
        string("endpoint_id", 40),
        string("status", 10),
        integer("attempts"),
        moment("next_attempt_at"),
        moment("give_up_at"),
        integer("last_status", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        moment("created_at"),
        moment("delivered_at", nullable=True),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoints.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_seq"], ["webhook_events.seq"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_seq", "endpoint_id"),
        indexed=INDEXED["webhook_deliveries"],
    )


def downgrade() -> None:
    drop_table("webhook_deliveries", INDEXED["webhook_deliveries"])
    drop_table("webhook_events", INDEXED["webhook_events"])
    op.drop_table("webhook_endpoints")
    op.drop_table("suppressions")
    op.drop_table("enrollments")
