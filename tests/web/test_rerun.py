"""Re-running what bad data reached, through a real Airflow API server's REST API (the browser tests'
server and store, filled by the example DAGs): a Viewer is refused, a dry run lists exactly the task
instances and clears nothing, `mltrace impact --clear` clears them; Airflow's database is only ever
touched by Airflow."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

import pytest
from click.testing import CliRunner

import mltrace_core
from mltrace_core import rerun
from mltrace_core.cli import cli
from tests.support.airflow_server import PASSWORDS

pytestmark = [pytest.mark.slow, pytest.mark.airflow, pytest.mark.timeout(900)]
DAG = "churn_batch_predict"


def ti_state(af, token: str, run_id: str, task_id: str) -> str | None:
    url = f"{af.base}/api/v2/dags/{DAG}/dagRuns/{urllib.parse.quote(run_id, safe='')}/taskInstances/{task_id}"
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())["state"]


def test_clear_the_impact_through_airflows_rest_api(airflow, monkeypatch):
    af, filled = airflow
    monkeypatch.delenv("AIRFLOW_API_TOKEN", raising=False)
    store = mltrace_core.Store(af.store_uri)
    address = f"run:{filled.scores[0]}"  # one region's scores: read by the merge
    impact = store.impact(address)
    assert [(a.dag_id, a.run_id, a.task_ids) for a in impact.airflow] == [
        (DAG, filled.predict_run_id, ("merge_predictions",))
    ]
    admin = af.token("admin")
    assert ti_state(af, admin, filled.predict_run_id, "merge_predictions") == "success"

    viewer = rerun.AirflowClient(af.base, af.token("viewer"))
    with pytest.raises(rerun.AirflowApiError) as refused:
        rerun.clear_all(viewer, impact.airflow, dry_run=False)
    assert refused.value.status == 403 and "403" in str(refused.value)

    client = rerun.AirflowClient.login(af.base, "admin", PASSWORDS["admin"])
    (preview,) = rerun.clear_all(client, impact.airflow)  # a dry run
    assert preview.dry_run and [(t.task_id, t.map_index, t.state) for t in preview.task_instances] == [
        ("merge_predictions", -1, "success")
    ]
    assert ti_state(af, admin, filled.predict_run_id, "merge_predictions") == "success"  # nothing cleared

    def mltrace(*args: str, answer: str | None = None):
        args = ("--db-uri", af.store_uri, "impact", address, "--clear", "--airflow-url", af.base, *args)
        return CliRunner().invoke(cli, list(args), input=answer)

    said_no = mltrace("--airflow-user", "viewer", answer=f"{PASSWORDS['viewer']}\n")
    assert said_no.exit_code == 1 and "Airflow answered 403" in said_no.output
    monkeypatch.setenv("MLTRACE_AIRFLOW_PASSWORD", PASSWORDS["admin"])
    kept = mltrace("--airflow-user", "admin", answer="n\n")
    assert kept.exit_code == 0 and "merge_predictions" in kept.output and "Nothing cleared" in kept.output
    assert ti_state(af, admin, filled.predict_run_id, "merge_predictions") == "success"
    done = mltrace("--airflow-user", "admin", "--yes")
    assert done.exit_code == 0, done.output
    assert "Airflow would clear 1 task instances" in done.output
    assert "Cleared 1 task instances in 1 DAG runs" in done.output
    assert ti_state(af, admin, filled.predict_run_id, "merge_predictions") is None  # Airflow re-runs it
    assert store.get_component_run_information(impact.runs[0][0].id).status == "success"  # old run kept
    store.dispose()
