"""order_pauses: pauses and early resumes of order chases"""

from __future__ import annotations

import sqlalchemy as sa

from migrations.tables import create_table, drop_table, moment, serial, string

revision = "0007"
down_revision = "0006"

INDEXED = ["order_id", "signalled_at"]


def upgrade() -> None:
    create_table(
        "order_pauses",
        serial("id"),
        string("order_id", 64),
        moment("until", nullable=True),
        string("reason", 255, nullable=True),
        string("actor", 80),
        moment("at"),
        moment("signalled_at", nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("id"),
        indexed=INDEXED,
    )


def downgrade() -> None:
    drop_table("order_pauses", INDEXED)
