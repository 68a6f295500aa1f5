"""Lineage never breaks a pipeline: a dead or hung store costs a bounded time, runs wait in the spool and
are replayed (by the next successful write, or by ``mltrace spool replay``) with nothing lost or doubled;
strict mode fails the task instead."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import text

import mltrace_core
from mltrace_core import Spool
from mltrace_core.cli import cli
from tests.support.airflow import connection_env, run_dag, runs_of
from tests.support.processes import HungServer
from tests.support.stores import create_pg_database, drop_pg_database, pg_admin_engine
from tests.task.test_example_dags import training_rows

pytestmark = pytest.mark.airflow


def spool_of(conn_id: str = "mltrace_default") -> Spool:
    from mltrace_airflow import config

    return Spool(config.spool_dir(conn_id))


def point_store_at(monkeypatch, uri: str) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MLTRACE_DEFAULT", connection_env(uri))


def replay(store_uri: str, spool: Spool) -> str:
    result = CliRunner().invoke(
        cli, ["--db-uri", store_uri, "spool", "replay", "--dir", str(spool.directory)]
    )
    assert result.exit_code == 0, result.output
    return result.output.strip()


@pytest.mark.timeout(180)
def test_dead_store_spools_every_try_and_replay_restores_them_once(dags, monkeypatch, dead_port, store_uri):
    point_store_at(monkeypatch, f"postgresql://postgres@127.0.0.1:{dead_port}/mltrace")
    started = time.monotonic()
    dr = run_dag(dags, "churn_training")
    elapsed = time.monotonic() - started

    assert dr.state == "success"  # the pipeline did not notice
    assert elapsed < 60
    spool = spool_of()
    assert len(spool.pending()) == 7  # every try, the failed first ingest included

    copies = {path.name: path.read_bytes() for path in spool.pending()}

    store = mltrace_core.Store(store_uri)
    assert replay(store_uri, spool) == "Replayed 7 of 7 spooled runs into the store"
    assert runs_of(store, dr) == training_rows(dr)
    model = dags["churn_training"].get_task("train").outlets[0].uri
    assert [n.run.component for n in store.trace(model).nodes] == [
        "churn_training.train",
        "churn_training.featurize",
        "churn_training.validate",
        "churn_training.ingest",
    ]

    # Replaying again, and replaying the same records again (a second copy), adds nothing.
    assert replay(store_uri, spool) == "Replayed 0 of 0 spooled runs into the store"
    for name, data in copies.items():
        (spool.directory / name).write_bytes(data)
    assert replay(store_uri, spool) == "Replayed 7 of 7 spooled runs into the store"
    assert runs_of(store, dr) == training_rows(dr)
    assert len(store.get_recent_runs(100)) == 7
    store.dispose()


@pytest.mark.timeout(120)
def test_the_next_successful_write_replays_the_spool(dags, monkeypatch, dead_port, lineage_store):
    live = lineage_store.uri
    point_store_at(monkeypatch, f"postgresql://postgres@127.0.0.1:{dead_port}/mltrace")
    during_outage = run_dag(dags, "mltrace_one_task")
    assert during_outage.state == "success" and len(spool_of().pending()) == 1

    point_store_at(monkeypatch, live)  # the store is back
    after = run_dag(dags, "mltrace_one_task")
    assert after.state == "success"
    assert spool_of().pending() == []
    assert [
        r.external.run_id for r in lineage_store.get_runs_for_dag_run("mltrace_one_task", after.run_id)
    ] == [after.run_id]
    (replayed,) = lineage_store.get_runs_for_dag_run("mltrace_one_task", during_outage.run_id)
    assert replayed.inputs == ("s3://bucket/config.yaml",) and replayed.outputs[0].endswith(".txt")


@pytest.mark.timeout(120)
def test_strict_mode_fails_the_task_instead(dags, monkeypatch, dead_port, lineage_store):
    monkeypatch.setenv("AIRFLOW__MLTRACE__STRICT", "True")
    dr = run_dag(dags, "mltrace_one_task")  # a live store: strict changes nothing
    assert (
        dr.state == "success" and len(lineage_store.get_runs_for_dag_run("mltrace_one_task", dr.run_id)) == 1
    )

    point_store_at(monkeypatch, f"postgresql://postgres@127.0.0.1:{dead_port}/mltrace")
    dr = run_dag(dags, "mltrace_one_task")
    assert dr.state == "failed"
    assert [(ti.task_id, ti.state) for ti in dr.get_task_instances()] == [("write", "failed")]
    assert spool_of().pending() == []  # a failed try is not spooled as a success


@pytest.mark.timeout(60)
def test_a_hung_store_costs_at_most_the_configured_bound(monkeypatch, airflow_db):
    from mltrace_airflow.task.delivery import deliver_try
    from mltrace_core import ExternalIdentity, RunRecord

    server = HungServer()
    try:
        monkeypatch.setenv("AIRFLOW__MLTRACE__TIMEOUT", "1.5")
        point_store_at(monkeypatch, f"postgresql://postgres@127.0.0.1:{server.port}/mltrace")
        from datetime import datetime, timezone

        now = datetime.now(timezone.utc)
        record = RunRecord(
            key="airflow:d:r:t:-1:1",
            component="d.t",
            start=now,
            end=now,
            external=ExternalIdentity("d", "r", "t", 1, -1),
            outputs=(("out.csv", None, None),),
        )
        started = time.monotonic()
        assert deliver_try(record) is None  # spooled, not written
        elapsed = time.monotonic() - started
        assert 1.0 <= elapsed < 2.5, elapsed
        (path,) = spool_of().pending()
        assert json.loads(path.read_text())["key"] == "airflow:d:r:t:-1:1"
    finally:
        server.close()


@pytest.mark.postgres
@pytest.mark.timeout(180)
def test_spool_replay_finds_what_airflow_spooled_without_being_told_where(
    dags, monkeypatch, pg_server, tmp_path
):
    """One default spool directory: in an Airflow environment (AIRFLOW_HOME set, nothing else configured)
    the tasks spool to, and ``mltrace spool replay`` reads from, ``$AIRFLOW_HOME/mltrace_spool``; the runs
    go back to the store they were meant for, and no other."""
    for name in ("AIRFLOW__MLTRACE__SPOOL_DIR", "MLTRACE_SPOOL_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow-home"))
    uri = create_pg_database(pg_server, "mltrace_spool_default")
    database = uri.rsplit("/", 1)[1]
    drop_pg_database(uri)  # the store's database is gone: the write fails and is spooled
    point_store_at(monkeypatch, uri)
    dr = run_dag(dags, "mltrace_one_task")
    assert dr.state == "success"
    spool_dir = tmp_path / "airflow-home" / "mltrace_spool" / "mltrace_default"
    assert len(list(spool_dir.glob("*.json"))) == 1

    other = mltrace_core.Store(f"sqlite:///{tmp_path / 'other.db'}")
    result = CliRunner().invoke(cli, ["--db-uri", other.uri, "spool", "replay"])
    assert result.exit_code == 0, result.output
    assert "1 spooled runs are meant for another store and were left in place" in result.output
    assert other.get_recent_runs() == [] and len(list(spool_dir.glob("*.json"))) == 1
    other.dispose()

    admin = pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))  # the store is back
    admin.dispose()
    try:
        result = CliRunner().invoke(cli, ["--db-uri", uri, "spool", "replay"])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("Replayed 1 of 1 spooled runs into the store")
        assert list(spool_dir.glob("*.json")) == []
        store = mltrace_core.Store(uri)
        assert [r.external.run_id for r in store.get_runs_for_dag_run("mltrace_one_task", dr.run_id)] == [
            dr.run_id
        ]
        store.dispose()
    finally:
        mltrace_core.stores.clear()
        drop_pg_database(uri)
