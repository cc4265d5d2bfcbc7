"""instalment plans; tasks answered with a number (a discount's percent, a count of parts)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 06:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "instalments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("due_at", db.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", db.models.UtcDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("order_id", "number"),
    )
    op.create_index("ix_instalments_order_id", "instalments", ["order_id"])
    # Empty on every task that exists: none of them asks for a number.
    with op.batch_alter_table("tasks") as table:
        table.add_column(sa.Column("number_min", sa.Integer(), nullable=True))
        table.add_column(sa.Column("number_max", sa.Integer(), nullable=True))
        table.add_column(sa.Column("answer_number", sa.Integer(), nullable=True))
        table.add_column(sa.Column("answer_valid_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as table:
        table.drop_column("answer_valid_days")
        table.drop_column("answer_number")
        table.drop_column("number_max")
        table.drop_column("number_min")
    op.drop_index("ix_instalments_order_id", "instalments")
    op.drop_table("instalments")
