"""What the migrations write again and again: columns, and a table with its one-column indexes.

Deployed migrations build their tables with these, so what a builder makes must never change:
a migration that needs something else writes it out, or adds a builder."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import db.models


def string(name: str, length: int, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def integer(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def serial(name: str) -> sa.Column[Any]:
    """An integer key the database numbers itself."""
    return sa.Column(name, sa.Integer(), autoincrement=True, nullable=False)


def moment(name: str, nullable: bool = False) -> sa.Column[Any]:
    """A time, stored in UTC as db.models.UtcDateTime stores it."""
    return sa.Column(name, db.models.UtcDateTime(timezone=True), nullable=nullable)


def create_table(name: str, *elements: sa.schema.SchemaItem, indexed: Sequence[str] = ()) -> None:
    """The table, then an index on each column of `indexed`, named ix_<table>_<column>."""
    op.create_table(name, *elements)
    for column in indexed:
        op.create_index(f"ix_{name}_{column}", name, [column])


def drop_table(name: str, indexed: Sequence[str] = ()) -> None:
    """Undoes create_table: its indexes, last first, then the table."""
    for column in reversed(indexed):
        op.drop_index(f"ix_{name}_{column}", table_name=name)
    op.drop_table(name)
