"""The suite's databases beside the one in CHASER_TEST_DATABASE_URL, on the same server."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url


def database_of_this_worker(url: str) -> str:
    """Each pytest-xdist worker empties its database between tests: on one PostgreSQL server
    they get one each (chaser_gw0, chaser_gw1, …), created here when missing."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    with _admin(base) as connection:
        if not connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone():
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return base.set(database=name).render_as_string(hide_password=False)


def fresh_database(url: str, suffix: str, folder: Path) -> str:
    """A new empty database of the kind of `url`: a SQLite file in `folder`, or on `url`'s
    PostgreSQL server `<its name>_<suffix>`, made anew."""
    base = make_url(url)
    if base.get_backend_name() != "postgresql":
        return f"sqlite+aiosqlite:///{folder / f'{suffix}.db'}"
    name = sql.Identifier(f"{base.database}_{suffix}")
    with _admin(base) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(name))
    return base.set(database=f"{base.database}_{suffix}").render_as_string(hide_password=False)


def _admin(base: URL) -> psycopg.Connection[tuple[object, ...]]:
    """psycopg on the server of `base`, in autocommit: CREATE DATABASE runs outside a
    transaction."""
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(admin, autocommit=True)
