"""indexes for the paginated lists and the metrics query

Every list reads in (time, id) order from where its filter starts, so a page costs the page,
not the table: tasks by status (also the open-task gauges by kind and age), orders by creation
(the call list), timelines per order and per lead, notifications per manager, leads by status.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 22:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

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
