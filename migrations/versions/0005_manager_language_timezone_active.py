"""managers: language, time zone, active

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 22:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Server defaults fill the rows that exist already; batch mode lets SQLite alter the table.
    with op.batch_alter_table("managers") as table:
        table.add_column(sa.Column("language", sa.String(2), nullable=False, server_default="en"))
        table.add_column(
            sa.Column("timezone", sa.String(64), nullable=False, server_default="Europe/Moscow")
        )
        table.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        table.add_column(
            sa.Column("deactivated_at", db.models.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("managers") as table:
        table.drop_column("deactivated_at")
        table.drop_column("active")
        table.drop_column("timezone")
        table.drop_column("language")
