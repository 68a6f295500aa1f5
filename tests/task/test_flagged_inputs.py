"""[mltrace] on_flagged_input: a traced try reading a flagged input warns (task log and run notes), or
fails before its code runs with its run logged as failed; the listener warns; a dead store stops nothing."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from tests.support.airflow import run_dag

pytestmark = pytest.mark.airflow

FEATURES = "s3://bucket/features.csv"
RAW = "s3://bucket/raw/customers.csv"


def ran(dr) -> bool:
    marker = Path(os.environ["MLTRACE_EXAMPLE_DATA"], "test/flagged", dr.run_id.replace(":", "_") + ".ran")
    return marker.exists()


def the_run(store, dr, task_id: str):
    (run,) = store.get_runs_for_dag_run(dr.dag_id, dr.run_id, task_id)
    return store.get_component_run_information(run.id)


@pytest.fixture
def flagged(lineage_store, log_into):
    """features.csv written at v1 and v2 (the latest), v2 flagged with a reason."""
    log_into(lineage_store, "featurize", [(FEATURES, "v1")], 0)
    log_into(lineage_store, "featurize", [(FEATURES, "v2")], 10)
    return lineage_store.flag(f"{FEATURES}@v2", reason="nulls in customer_id", by="alice")


@pytest.fixture
def log_into():
    import mltrace_core
    from tests.support.timeline import at

    def _log(store, component, outputs, start):
        cr = mltrace_core.ComponentRun(component)
        cr.set_start_timestamp(at(start))
        cr.set_end_timestamp(at(start + 1))
        for name, version in outputs:
            cr.add_output(name, version)
        return store.log(cr)

    return _log


@pytest.mark.timeout(120)
def test_warn_names_the_flag_in_the_task_log_and_the_notes(dags, lineage_store, flagged, caplog):
    caplog.set_level(logging.WARNING, logger="mltrace_airflow")
    dr = run_dag(dags, "mltrace_flagged_inputs")  # default: warn
    assert dr.state == "success" and ran(dr)
    run = the_run(lineage_store, dr, "score")
    assert run.status == "success"
    line = f"{FEATURES}@v2 flagged by alice at "
    assert line in run.notes and "nulls in customer_id" in run.notes
    warned = [r.getMessage() for r in caplog.records if "reads a flagged input" in r.getMessage()]
    assert len(warned) == 1 and line in warned[0]


@pytest.mark.timeout(120)
def test_fail_stops_the_try_before_its_code_and_logs_the_run_failed(
    dags, monkeypatch, lineage_store, flagged
):
    monkeypatch.setenv("AIRFLOW__MLTRACE__ON_FLAGGED_INPUT", "fail")
    dr = run_dag(dags, "mltrace_flagged_inputs")
    states = {ti.task_id: ti.state for ti in dr.get_task_instances()}
    assert states == {"score": "failed", "load": "success"}
    assert not ran(dr)
    run = the_run(lineage_store, dr, "score")
    assert run.status == "failed" and run.outputs == ()
    assert run.error.startswith("FlaggedInputError: task score reads flagged input: ")
    assert f"{FEATURES}@v2 flagged by alice" in run.error and "nulls in customer_id" in run.error
    # Unflagged, the next run goes through.
    lineage_store.unflag(FEATURES)
    again = run_dag(dags, "mltrace_flagged_inputs")
    assert again.state == "success" and ran(again) and the_run(lineage_store, again, "score").notes == ""


@pytest.mark.timeout(120)
def test_ignore_and_other_versions_pass_silently(dags, monkeypatch, lineage_store, log_into, caplog):
    caplog.set_level(logging.WARNING, logger="mltrace_airflow")
    log_into(lineage_store, "featurize", [(FEATURES, "v1")], 0)
    log_into(lineage_store, "featurize", [(FEATURES, "v2")], 10)
    lineage_store.flag(f"{FEATURES}@v1")  # not the version the try reads (the latest, v2)
    dr = run_dag(dags, "mltrace_flagged_inputs")
    assert dr.state == "success" and the_run(lineage_store, dr, "score").notes == ""
    lineage_store.flag(FEATURES)  # every version
    monkeypatch.setenv("AIRFLOW__MLTRACE__ON_FLAGGED_INPUT", "ignore")
    dr = run_dag(dags, "mltrace_flagged_inputs")
    assert dr.state == "success" and the_run(lineage_store, dr, "score").notes == ""
    assert not [r for r in caplog.records if "flagged input" in r.getMessage()]


@pytest.mark.timeout(120)
def test_the_listener_warns_even_with_fail(dags, monkeypatch, lineage_store, trace_all, caplog):
    caplog.set_level(logging.WARNING, logger="mltrace_airflow")
    monkeypatch.setenv("AIRFLOW__MLTRACE__ON_FLAGGED_INPUT", "fail")
    lineage_store.get_pointer(RAW, create=True)
    lineage_store.flag(RAW, reason="bad export", by="bob")
    dr = run_dag(dags, "mltrace_flagged_inputs")
    states = {ti.task_id: ti.state for ti in dr.get_task_instances()}
    assert states == {"score": "success", "load": "success"}  # score reads features.csv: not flagged
    load = the_run(lineage_store, dr, "load")
    assert load.status == "success" and f"{RAW} flagged by bob" in load.notes and "bad export" in load.notes
    warned = [r.getMessage() for r in caplog.records if "reads a flagged input" in r.getMessage()]
    assert len(warned) == 1 and "the listener cannot stop it" in warned[0]


@pytest.mark.timeout(120)
def test_a_dead_store_stops_nothing(dags, monkeypatch, dead_port, tmp_path):
    from tests.support.airflow import connection_env

    monkeypatch.setenv("AIRFLOW__MLTRACE__ON_FLAGGED_INPUT", "fail")
    monkeypatch.setenv("AIRFLOW__MLTRACE__TIMEOUT", "1")
    monkeypatch.setenv(
        "AIRFLOW_CONN_MLTRACE_DEFAULT", connection_env(f"postgresql://postgres@127.0.0.1:{dead_port}/mltrace")
    )
    dr = run_dag(dags, "mltrace_flagged_inputs")
    assert dr.state == "success" and ran(dr)  # unchecked, and the run spooled
    assert list((tmp_path / "spool").rglob("*.json"))
