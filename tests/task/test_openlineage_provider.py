"""The real OpenLineage provider meets the traced operators: a traced pipeline, run by ``dag.test()`` in a
process of its own with the provider's HTTP transport pointed at a loopback capture server, produces
events whose inputs and outputs are the pointers mltrace stored (versions included) and whose run ids are
the ones mltrace recorded. A process of its own because the provider reads its transport once per process
and registers its listener only when one is configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import mltrace_core
from mltrace_core.naming import dataset_of_pointer
from tests.support.airflow import connection_env
from tests.support.airflow_env import TEST_DAGS
from tests.support.openlineage import Capture

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

RUN_DAG = """
import json, sys
from airflow.dag_processing.dagbag import BundleDagBag
bag = BundleDagBag(sys.argv[1], bundle_path=sys.argv[1], bundle_name="mltrace-tests")
dag_run = bag.dags[sys.argv[2]].test()
with open(sys.argv[3], "w") as out:
    json.dump({"run_id": dag_run.run_id, "state": dag_run.state}, out)
"""


def run_with_provider(dag_id: str, transport: dict, store_uri: str, tmp_path) -> dict:
    env = {
        **os.environ,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
        "AIRFLOW_CONN_MLTRACE_DEFAULT": connection_env(store_uri),
        "AIRFLOW__MLTRACE__SPOOL_DIR": str(tmp_path / "spool"),
    }
    done = subprocess.run(
        [sys.executable, "-c", RUN_DAG, str(TEST_DAGS), dag_id, str(tmp_path / "dag_run.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads((tmp_path / "dag_run.json").read_text())


def datasets(events: list[dict], kind: str) -> set[tuple]:
    return {
        (d["namespace"], d["name"], (d.get("facets") or {}).get("version", {}).get("datasetVersion"))
        for e in events
        for d in e[kind]
    }


def expected(pairs) -> set[tuple]:
    return {(*dataset_of_pointer(name), version) for name, version in pairs}


@pytest.mark.timeout(400)
def test_the_providers_events_carry_what_mltrace_stored(airflow_db, tmp_path):
    uri = f"sqlite:///{tmp_path / 'lineage.db'}"
    with Capture() as capture:
        dag_run = run_with_provider(
            "mltrace_openlineage",
            {"type": "http", "url": capture.url, "endpoint": "api/v1/lineage"},
            uri,
            tmp_path,
        )
    assert dag_run["state"] == "success"
    store = mltrace_core.Store(uri)
    runs = store.get_runs_for_dag_run("mltrace_openlineage", dag_run["run_id"])
    assert len(runs) == 5
    by_run_id: dict[str, list[dict]] = {}
    for event in capture.events:
        by_run_id.setdefault(event["run"]["runId"], []).append(event)
    for run in runs:
        detail = store.get_component_run_information(run.id)
        events = by_run_id[run.external.openlineage_run_id]  # the same id in both systems
        kinds = sorted(e["eventType"] for e in events)
        end = [e for e in events if e["eventType"] in ("COMPLETE", "FAIL")]
        assert kinds == ["COMPLETE" if run.status == "success" else "FAIL", "START"], (run, kinds)
        assert events[0]["job"]["name"] == f"mltrace_openlineage.{run.external.task_id}"
        assert datasets(end, "inputs") == expected(detail.input_versions), run
        assert datasets(end, "outputs") == expected(detail.output_versions), run
        facet = end[0]["run"]["facets"]["mltrace_run"]
        assert facet["id"] == run.id and facet["component"] == run.component
        assert facet["key"].startswith("airflow:mltrace_openlineage:")
        parent = end[0]["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == run.external.openlineage_parent_run_id
    features = next(r for r in runs if r.external.task_id == "features")
    stored = store.get_component_run_information(features.id)
    # Declared (rendered), Asset, run-time and versioned pointers all reached the catalogue.
    assert any(n.startswith("s3://bucket/raw/2") for n in stored.inputs)
    assert "s3://bucket/raw/customers.csv" in stored.inputs and "warehouse.customers" in stored.inputs
    assert any(n.endswith(".stats") for n in stored.outputs)
    assert all(v for _, v in stored.output_versions)  # content hashes, as datasetVersion facets
    failed = next(r for r in runs if r.status == "failed")
    assert store.get_component_run_information(failed.id).outputs == ()
