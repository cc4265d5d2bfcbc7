"""managers: language, time zone, active"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.models

revision = "0005"
down_revision = "0004"


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
        for name in ("deactivated_at", "active", "timezone", "language"):
            table.drop_column(name)
