"""Fixtures shared by every test: real stores on SQLite and PostgreSQL, and a clean environment.

Airflow's test environment (a temporary AIRFLOW_HOME, see ``tests/support/airflow_env.py``) is set up
here, once for the whole session, before any test module can import airflow: ``pytest tests/web``
alone never touches ``~/airflow``, and the test folders run in any order.

PostgreSQL: ``MLTRACE_TEST_PG_URI`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``) must
reach a server that lets us create a database. Without one the PostgreSQL half is skipped with the
reason, unless ``MLTRACE_REQUIRE_POSTGRES=1`` (CI), where that is an error.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import text

import mltrace_core
from mltrace_core import config, stores
from tests.support.airflow_env import configure
from tests.support.stores import (
    PG_ADMIN_URI,
    create_pg_database,
    drop_pg_database,
    empty_pg,
    pg_admin_engine,
)
from tests.support.timeline import at

# `make test` (and so CI) sets HYPOTHESIS_PROFILE=ci: each property test draws the same examples on
# every run, so a failure CI finds is one a clean clone of the same commit finds too, and a pass here
# is a pass there. `make test-fast` keeps the default profile, which draws new examples each time.
settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

AIRFLOW_HOME = configure()  # before any test module imports airflow (none of the imports above does)
pytest_plugins = ["tests.support.airflow_fixtures"]  # dags, airflow_db, lineage_store, ... for every folder


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path) -> Iterator[None]:
    """Every test starts with no URI override, no env store and a private MLTRACE_HOME."""
    monkeypatch.delenv("MLTRACE_DB_URI", raising=False)
    monkeypatch.delenv("MLTRACE_SPOOL_DIR", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)  # printed output at the CLI's own width (xdist sets 80)
    monkeypatch.setenv("MLTRACE_HOME", str(tmp_path / "mltrace-home"))
    config.set_db_uri(None)
    yield
    config.set_db_uri(None)
    stores.clear()


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin URI of a reachable PostgreSQL server, or a skip (a failure in CI)."""
    try:
        engine = pg_admin_engine()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any reason it cannot be reached
        reason = f"PostgreSQL not reachable at {PG_ADMIN_URI}: {str(exc).splitlines()[0]}"
        if os.environ.get("MLTRACE_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " (MLTRACE_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    return PG_ADMIN_URI


@pytest.fixture(scope="session")
def pg_database(pg_server) -> Iterator[str]:
    """One PostgreSQL database for the session, with the schema; tests empty it before use."""
    uri = create_pg_database(pg_server)
    store = mltrace_core.Store(uri)
    store.upgrade()
    store.dispose()
    yield uri
    drop_pg_database(uri)


@pytest.fixture
def fresh_pg_database(pg_server) -> Iterator[str]:
    """An empty PostgreSQL database of its own (no schema), dropped afterwards."""
    uri = create_pg_database(pg_server)
    yield uri
    drop_pg_database(uri)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An empty SQLite store with the schema, made once: each test gets a copy (a copy takes a millisecond,
    running the migrations again a fifth of a second -- most of the fast group's time, before this)."""
    path = tmp_path_factory.mktemp("template") / "store.db"
    store = mltrace_core.Store(f"sqlite:///{path}")
    store.get_recent_runs()  # creates the schema
    store.dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_uri(request, tmp_path) -> str:
    """An empty store's URI (with the schema), on each backend."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{template}{suffix}").exists():
                shutil.copyfile(f"{template}{suffix}", tmp_path / f"store.db{suffix}")
        return f"sqlite:///{tmp_path / 'store.db'}"
    uri = request.getfixturevalue("pg_database")
    empty_pg(uri)
    return uri


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def bare_uri(request, tmp_path) -> str:
    """A database mltrace has never touched (no schema), on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bare.db'}"
    return request.getfixturevalue("fresh_pg_database")


@pytest.fixture
def store(store_uri) -> Iterator[mltrace_core.Store]:
    s = mltrace_core.Store(store_uri)
    yield s
    s.dispose()


@pytest.fixture
def log(store):
    """``log(component, inputs, outputs, start, end)``: log a run at minutes from T0; returns its id.
    A pointer given as ``(name, version)`` carries a version."""

    def _log(component, inputs=(), outputs=(), start=0.0, end=None, status="success", **attrs) -> int:
        cr = mltrace_core.ComponentRun(component, status=status)
        cr.set_start_timestamp(at(start))
        cr.set_end_timestamp(at(start + 1 if end is None else end))
        for p in inputs:
            cr.add_input(*p) if isinstance(p, tuple) else cr.add_input(p)
        for p in outputs:
            cr.add_output(*p) if isinstance(p, tuple) else cr.add_output(p)
        for key, value in attrs.items():
            setattr(cr, key, value)
        return store.log(cr)

    return _log
