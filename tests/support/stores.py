"""Test databases: a PostgreSQL server to create throwaway databases on, and emptying a store.

``MLTRACE_TEST_PG_URI`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``) names a server that
lets us create databases; every database made here has a unique name, so test runs can share a server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, text

from mltrace_core.config import normalize_uri
from mltrace_core.models import Base

PG_ADMIN_URI = os.environ.get("MLTRACE_TEST_PG_URI", "postgresql://postgres@127.0.0.1:5432/postgres")


def pg_admin_engine():
    return create_engine(
        normalize_uri(PG_ADMIN_URI), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )


def create_pg_database(admin_uri: str, prefix: str = "mltrace_test", template: str | None = None) -> str:
    """A new database; with ``template`` (a URI of this server), a copy of that database."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    copy = f' TEMPLATE "{template.rsplit("/", 1)[1]}"' if template else ""
    engine = pg_admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    engine.dispose()
    return PG_ADMIN_URI.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(uri: str) -> None:
    name = uri.rsplit("/", 1)[1]
    engine = pg_admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def empty_pg(uri: str) -> None:
    """Every mltrace table emptied (ids restart at 1), the schema kept."""
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    engine = create_engine(normalize_uri(uri))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@contextmanager
def driver_connection(store) -> Iterator[Any]:
    """One of ``store``'s pooled driver connections in autocommit, as the fast reads use them; given back
    to the pool as it was taken (its transaction rolled back, autocommit off)."""
    fairy = store.engine.raw_connection()
    conn = fairy.driver_connection
    try:
        conn.autocommit = True
        yield conn
    finally:
        try:
            conn.rollback()
            conn.autocommit = False
        finally:
            fairy.close()
