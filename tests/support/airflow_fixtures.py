"""Pytest fixtures for tests that run real Airflow (a plugin of tests/conftest.py, so every test folder
has them): one AIRFLOW_HOME and metadata DB for the session, the DAGs
run with ``dag.test()`` in this process (Airflow's warm-up is paid once), and each test's mltrace store
and spool of its own, reached the way a deployment reaches them: through an Airflow connection."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import mltrace_core
from mltrace_core import stores
from tests.support.airflow import connection_env
from tests.support.airflow_env import TEST_DAGS, configure
from tests.support.processes import free_port


@pytest.fixture(scope="session")
def airflow_db():
    from airflow.utils import db

    db.initdb()
    return configure()


@pytest.fixture(scope="session")
def dags(airflow_db):
    """Every DAG of both bundles, by dag_id (parsed the way the dag-processor parses them)."""
    from airflow.dag_processing.dagbag import BundleDagBag

    found = {}
    for name, folder in (
        ("dags-folder", os.environ["AIRFLOW__CORE__DAGS_FOLDER"]),
        ("mltrace-tests", TEST_DAGS),
    ):
        bag = BundleDagBag(folder, bundle_path=folder, bundle_name=name)
        assert not bag.import_errors, bag.import_errors
        found.update(bag.dags)
    return found


@pytest.fixture(autouse=True)
def mltrace_settings(monkeypatch, tmp_path) -> None:
    """No [mltrace] settings but a private spool, and the listener off, unless a test says so."""
    for name in list(os.environ):
        if name.startswith(("AIRFLOW__MLTRACE__", "AIRFLOW_CONN_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AIRFLOW__MLTRACE__SPOOL_DIR", str(tmp_path / "spool"))


@pytest.fixture(scope="session")
def listener_registered(airflow_db):
    """The mltrace listener, registered as the plugin registers it (a no-op if the plugin did)."""
    from airflow.sdk.listener import get_listener_manager

    from mltrace_airflow.task import listener

    get_listener_manager().add_listener(listener)
    return listener


@pytest.fixture
def trace_all(monkeypatch, listener_registered) -> None:
    monkeypatch.setenv("AIRFLOW__MLTRACE__TRACE_ALL_TASKS", "True")


@pytest.fixture
def lineage_store(monkeypatch, store_uri) -> Iterator[mltrace_core.Store]:
    """An empty store (SQLite, then PostgreSQL) that ``mltrace_default`` points at."""
    monkeypatch.setenv("AIRFLOW_CONN_MLTRACE_DEFAULT", connection_env(store_uri))
    store = mltrace_core.Store(store_uri)
    yield store
    store.dispose()
    stores.clear()


@pytest.fixture
def dead_port() -> int:
    """A loopback port nobody listens on: connections are refused at once."""
    return free_port()
