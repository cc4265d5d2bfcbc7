"""indexes for the paginated lists and the metrics query

Every list reads in (time, id) order from where its filter starts, so a page costs the page,
not the table: tasks by status (also the open-task gauges by kind and age), orders by creation
(the call list), timelines per order and per lead, notifications per manager, leads by status.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"

INDEXES = {
    "ix_tasks_status_created": ("tasks", ["status", "created_at", "id"]),
    "ix_orders_created": ("orders", ["created_at", "id"]),
    "ix_history_order_at": ("history", ["order_id", "at", "id"]),
    "ix_history_lead_at": ("history", ["lead_id", "at", "id"]),
    "ix_notifications_manager_created": ("notifications", ["manager_id", "created_at", "id"]),
    "ix_leads_status": ("leads", ["status"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
