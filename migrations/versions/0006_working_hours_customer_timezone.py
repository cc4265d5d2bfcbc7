"""managers: working hours; orders: the customer's time zone"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


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
