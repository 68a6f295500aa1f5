"""Lineage gates under real Airflow (``dag.test()``): the operator fails or skips its downstream, the
decorator and the sensor, and every decision is a run of its own in the store, with its reasons."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import mltrace_core
from mltrace_core.checks import GATE_TAG
from tests.support.airflow import run_dag

pytestmark = pytest.mark.airflow


def log(store, component, inputs=(), outputs=(), minutes_ago=60, status="success") -> int:
    run = mltrace_core.ComponentRun(component, status=status)
    start = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    run.set_start_timestamp(start)
    run.set_end_timestamp(start + timedelta(minutes=1))
    for p in inputs:
        run.add_input(*p) if isinstance(p, tuple) else run.add_input(p)
    for p in outputs:
        run.add_output(*p) if isinstance(p, tuple) else run.add_output(p)
    return store.log(run)


@pytest.fixture
def pipeline(lineage_store):
    s = lineage_store
    ids = {
        "ingest": log(s, "p.ingest", [], [("raw.csv", "r1")], 50),
        "train": log(s, "p.train", [("raw.csv", "r1")], [("model.pkl", "m1")], 40),
    }
    ids["evaluate"] = log(s, "p.evaluate", [("model.pkl", "m1")], [("metrics.json", "e1")], 30)
    return ids


def states(dr) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in dr.get_task_instances()}


def decision(store, dr, task_id="gate"):
    (run,) = store.get_runs_for_dag_run(dr.dag_id, dr.run_id, task_id)
    return store.get_component_run_information(run.id)


@pytest.mark.timeout(180)
def test_a_gate_passes_a_healthy_lineage_and_fails_a_flagged_one(dags, lineage_store, pipeline):
    ok = run_dag(dags, "mltrace_gate", output="metrics.json")
    assert states(ok) == {"gate": "success", "publish": "success"}
    passed = decision(lineage_store, ok)
    assert (passed.status, passed.inputs, passed.input_versions) == (
        "success",
        ("metrics.json",),
        (("metrics.json", "e1"),),
    )
    assert GATE_TAG in passed.component_tags and "passed (3 runs checked)" in passed.notes
    assert passed.dependencies == (pipeline["evaluate"],)  # the decision is in the lineage of what it checked

    lineage_store.flag_output_id("raw.csv")
    bad = run_dag(dags, "mltrace_gate", output="metrics.json@e1")
    assert states(bad) == {"gate": "failed", "publish": "upstream_failed"}
    failed = decision(lineage_store, bad)
    assert failed.status == "failed" and failed.error == "lineage check failed: 2 reason(s)"
    assert [(t.name, t.passed, t.message) for t in failed.tests if not t.passed] == [
        ("gate.flagged", False, f"run {pipeline['ingest']}: raw.csv version r1 is flagged"),
        ("gate.flagged", False, f"run {pipeline['train']}: raw.csv version r1 is flagged"),
    ]


@pytest.mark.timeout(180)
def test_a_missing_component_fails_and_soft_fail_skips_the_downstream(dags, lineage_store, pipeline):
    no_eval = run_dag(dags, "mltrace_gate", output="model.pkl")  # evaluate is downstream of the model
    assert states(no_eval) == {"gate": "failed", "publish": "upstream_failed"}
    assert "no run of component 'evaluate' in the trace" in decision(lineage_store, no_eval).notes

    log(lineage_store, "p.score", [("model.pkl", "m1")], [], 20, status="failed")
    soft = run_dag(dags, "mltrace_gate_soft", output="model.pkl")
    assert states(soft) == {"gate": "success", "publish": "success"}  # the failed reader is not upstream
    lineage_store.flag_output_id("model.pkl")
    skipped = run_dag(dags, "mltrace_gate_soft", output="model.pkl")
    assert states(skipped) == {"gate": "skipped", "publish": "skipped"}
    run = decision(lineage_store, skipped)
    assert run.status == "failed" and "soft_fail" in run.notes


@pytest.mark.timeout(180)
def test_the_decorator_checks_what_its_function_returns(dags, lineage_store, pipeline):
    ok = run_dag(dags, "mltrace_gate_decorated", output="model.pkl@m1")
    assert states(ok) == {"model_to_check": "success", "publish": "success"}
    assert decision(lineage_store, ok, "model_to_check").input_versions == (("model.pkl", "m1"),)
    bad = run_dag(dags, "mltrace_gate_decorated", output="raw.csv")  # no train run above the raw data
    assert states(bad) == {"model_to_check": "failed", "publish": "upstream_failed"}


@pytest.mark.timeout(180)
def test_the_sensor_passes_or_times_out_with_its_last_reasons(dags, lineage_store, pipeline):
    ok = run_dag(dags, "mltrace_gate_sensor", output="model.pkl")
    assert states(ok) == {"wait": "success", "publish": "success"}
    assert decision(lineage_store, ok, "wait").status == "success"
    lineage_store.flag_output_id("raw.csv")
    late = run_dag(dags, "mltrace_gate_sensor", output="model.pkl")
    assert states(late) == {"wait": "failed", "publish": "upstream_failed"}
    run = decision(lineage_store, late, "wait")
    assert run.status == "failed" and "raw.csv version r1 is flagged" in run.notes
