"""instalment plans; tasks answered with a number (a discount's percent, a count of parts)"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.models

revision = "0009"
down_revision = "0008"

# The task's bounds on the number it asks for, and the answer's number and days.
NUMBER_COLUMNS = ("number_min", "number_max", "answer_number", "answer_valid_days")


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
        for name in NUMBER_COLUMNS:
            table.add_column(sa.Column(name, sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as table:
        for name in reversed(NUMBER_COLUMNS):
            table.drop_column(name)
    op.drop_index("ix_instalments_order_id", "instalments")
    op.drop_table("instalments")
