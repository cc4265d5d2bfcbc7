"""order_pauses: pauses and early resumes of order chases

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 06:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_pauses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("until", db.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("at", db.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("signalled_at", db.models.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_order_pauses_order_id", "order_pauses", ["order_id"])
    op.create_index("ix_order_pauses_signalled_at", "order_pauses", ["signalled_at"])


def downgrade() -> None:
    op.drop_index("ix_order_pauses_signalled_at", table_name="order_pauses")
    op.drop_index("ix_order_pauses_order_id", table_name="order_pauses")
    op.drop_table("order_pauses")
