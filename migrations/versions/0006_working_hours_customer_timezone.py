"""managers: working hours; orders: the customer's time zone

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 02:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Empty for every manager that exists: they keep WORKING_HOURS until given their own.
    with op.batch_alter_table("managers") as table:
        table.add_column(sa.Column("working_hours", sa.String(64), nullable=True))
    # Empty for every order that exists: DEFAULT_TIMEZONE.
    with op.batch_alter_table("orders") as table:
        table.add_column(sa.Column("customer_timezone", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as table:
        table.drop_column("customer_timezone")
    with op.batch_alter_table("managers") as table:
        table.drop_column("working_hours")
