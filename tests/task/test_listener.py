"""Trace every task with no DAG changes: the listener on an untraced DAG, and the kill switch."""

from __future__ import annotations

import os

import pytest

from tests.support.airflow import run_dag, runs_of, ti_url

pytestmark = pytest.mark.airflow

RAW, TABLE, SHARDS = (
    "s3://bucket/raw/customers.csv",
    "postgres://warehouse:5432/analytics.public.churn_features",  # the Asset, named as OpenLineage names the table
    "s3://bucket/shards",
)


def step_path() -> str:
    return os.path.realpath(os.environ["MLTRACE_EXAMPLE_DATA"]) + "/test/untraced/step.txt"


@pytest.mark.timeout(120)
def test_listener_logs_every_try_of_an_untraced_dag(dags, lineage_store, trace_all):
    from mltrace_airflow.task import delivery

    dr = run_dag(dags, "mltrace_untraced")
    assert dr.state == "success"
    c = "mltrace_untraced."
    assert runs_of(lineage_store, dr) == [
        (c + "load", "load", -1, 1, "failed", (RAW,), ()),
        (c + "load", "load", -1, 2, "success", (RAW,), (TABLE,)),
        (c + "shard", "shard", 0, 1, "success", (), (SHARDS,)),
        (c + "shard", "shard", 1, 1, "success", (), (SHARDS,)),
        # logged by its traced operator, once: the listener saw the mark and skipped it
        (c + "traced_step", "traced_step", -1, 1, "success", (TABLE,), ()),
    ]
    assert delivery._by_operator == set()

    runs = {
        (r.external.task_id, r.external.try_number): r
        for r in lineage_store.get_runs_for_dag_run(dr.dag_id, dr.run_id)
    }
    failed = lineage_store.get_component_run_information(runs["load", 1].id)
    assert failed.error == "RuntimeError: first try fails"
    assert failed.external.url == ti_url("mltrace_untraced", dr.run_id, "load", 1)
    assert set(failed.component_tags) == {"mltrace_untraced"}
    # Lineage joins across the two ways of logging: the traced step read what the listener saw written.
    assert runs["traced_step", 1].dependencies == (runs["load", 2].id,)


@pytest.mark.timeout(120)
def test_without_trace_all_tasks_only_traced_operators_log(dags, lineage_store, listener_registered):
    from mltrace_airflow.task import delivery

    dr = run_dag(dags, "mltrace_untraced")
    assert dr.state == "success"
    assert [row[1] for row in runs_of(lineage_store, dr)] == ["traced_step"]
    assert delivery._by_operator == set()  # no marks left behind for a listener that is not listening


@pytest.mark.timeout(120)
def test_kill_switch_turns_tracing_off_and_tasks_run_unchanged(dags, monkeypatch, lineage_store, trace_all):
    monkeypatch.setenv("AIRFLOW__MLTRACE__DISABLED", "True")
    for dag_id in ("mltrace_untraced", "mltrace_one_task"):  # the second uses current_run() in its callable
        dr = run_dag(dags, dag_id)
        assert dr.state == "success"
        assert lineage_store.get_runs_for_dag_run(dag_id, dr.run_id) == []
    assert lineage_store.get_recent_runs() == []
