"""order events and task answers remember when their workflow heard them"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.models

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("order_events") as batch:
        batch.add_column(sa.Column("signalled_at", db.models.UtcDateTime(timezone=True)))
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("signalled_at", db.models.UtcDateTime(timezone=True)))
    op.create_index("ix_order_events_signalled_at", "order_events", ["signalled_at"])
    op.create_index("ix_tasks_signalled_at", "tasks", ["signalled_at"])
    # Existing rows were signalled inside their request: nothing is owed to a workflow.
    op.execute("UPDATE order_events SET signalled_at = received_at")
    op.execute("UPDATE tasks SET signalled_at = answered_at WHERE answered_at IS NOT NULL")


def downgrade() -> None:
    op.drop_index("ix_tasks_signalled_at", "tasks")
    op.drop_index("ix_order_events_signalled_at", "order_events")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("signalled_at")
    with op.batch_alter_table("order_events") as batch:
        batch.drop_column("signalled_at")
