"""The real OpenLineage provider feeding mltrace (issue 11, "Done when"): a real Airflow (scheduler,
dag-processor, api-server, the LocalExecutor -- one process per task try), the provider's HTTP transport set
to the mltrace endpoint with the one documented environment variable and the ingestion key, and a DAG of
plain operators whose lineage only the provider reports: a BashOperator and a PythonOperator with Asset
outlets/inlets, a task that fails then succeeds on retry, a mapped task writing through ObjectStoragePath,
SQLExecuteQueryOperator on PostgreSQL (INSERT ... SELECT and CREATE TABLE ... AS SELECT with joins), a
task copying a file through ObjectStoragePath, and one traced operator that both mltrace and the provider
report. No mltrace listener: what the untraced tasks are in mltrace, the provider said.

Checked against Airflow's own task records (its REST API): every try that ran is exactly one run with its
identity and status, DAG runs and SQL query runs are no components of their own, and the traces of the
final file and the final table are the runs Airflow says produced them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.reliability.checks import open_store
from tests.reliability.deployment import Deployment
from tests.support.processes import wait_for_url
from tests.support.stores import create_pg_database, drop_pg_database

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.slow]

DAGS = Path(__file__).parent / "openlineage_dags"
KEY = "e2e-ingestion-key-0123456789abcdef"
NAMESPACE = "mltrace-e2e"


def transport(base: str) -> str:
    """The value users set (docs/openlineage.md): the endpoint keeps its ``mltrace/`` prefix."""
    return json.dumps(
        {
            "type": "http",
            "url": base,
            "endpoint": "mltrace/api/v1/lineage",
            "auth": {"type": "api_key", "apiKey": KEY},
        }
    )


@pytest.fixture(scope="module")
def deployment(pg_server, airflow_metadata, tmp_path_factory):
    metadata = airflow_metadata.database("mltrace_ol_airflow")
    store = create_pg_database(pg_server, "mltrace_ol_store")
    warehouse = create_pg_database(pg_server, "mltrace_ol_warehouse")
    airflow = Deployment(
        tmp_path_factory.mktemp("ol"),
        metadata_uri=metadata,
        store_conn=store,
        parallelism=4,
        copied_from=airflow_metadata.deployment.home,
    )
    airflow.extra_env = {
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__OPENLINEAGE__TRANSPORT": transport(airflow.base),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": NAMESPACE,
        "AIRFLOW__MLTRACE__INGESTION_KEY": KEY,
        "AIRFLOW_CONN_E2E_WAREHOUSE": warehouse.replace("postgresql://", "postgres://", 1),
    }
    try:
        airflow.set_up()
        airflow.start()
        yield airflow, store, warehouse
    finally:
        airflow.stop()
        for uri in (metadata, store, warehouse):
            drop_pg_database(uri)


def wait(condition, timeout: float, what: str, airflow):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        airflow.check_alive()
        value = condition()
        if value:
            return value
        time.sleep(1)
    raise TimeoutError(f"{what}: not after {timeout} s")


def dag_ready(airflow, token) -> bool:
    status, body = airflow.request("GET", "/api/v2/dags/ol_e2e", token)
    return status == 200 and not json.loads(body)["is_paused"]


def dag_run_ended(airflow, token, run_id):
    run = airflow.api("GET", f"/api/v2/dags/ol_e2e/dagRuns/{run_id}", token)
    return run if run["state"] in ("success", "failed") else None


@pytest.mark.timeout(600)
def test_the_providers_events_make_every_tasks_lineage_exact(deployment):
    airflow, store_uri, warehouse = deployment
    assert wait_for_url(airflow.base + "/api/v2/monitor/health", timeout=180), "the api-server did not start"
    token = airflow.token("admin")
    wait(lambda: dag_ready(airflow, token), 240, "the DAG parsed and unpaused", airflow)
    run_id = airflow.trigger("ol_e2e", token)
    assert (
        wait(lambda: dag_run_ended(airflow, token, run_id), 300, "the DAG run", airflow)["state"] == "success"
    )

    # What Airflow itself says ran: every try of every task instance.
    tries = {}
    for ti in airflow.task_instances(token, "ol_e2e", run_id):
        for t in airflow.tries(token, "ol_e2e", run_id, ti["task_id"], ti["map_index"]):
            tries[(t["task_id"], t["map_index"], t["try_number"])] = t["state"]
    assert tries == {
        ("ingest", -1, 1): "success",
        ("featurize", -1, 1): "failed",
        ("featurize", -1, 2): "success",
        ("shard", 0, 1): "success",
        ("shard", 1, 1): "success",
        ("train", -1, 1): "success",
        ("publish", -1, 1): "success",
        ("load", -1, 1): "success",
        ("report", -1, 1): "success",
    }

    store = open_store(store_uri)
    try:

        def ended_runs():
            found = store.get_runs_for_dag_run("ol_e2e", run_id)
            done = {(r.external.task_id, r.external.map_index, r.external.try_number): r for r in found}
            return done if len(done) == len(tries) and all(r.status != "running" for r in found) else None

        runs = wait(ended_runs, 120, "every try's events ingested", airflow)
        # Exactly one run per try, with Airflow's state and identity; no DAG-run or SQL-query components.
        assert {k: r.status for k, r in runs.items()} == tries
        assert len(store.get_runs_for_dag_run("ol_e2e", run_id)) == len(tries)
        components = {c.name for c in store.get_components()}
        assert components == {f"ol_e2e.{task}" for task, _, _ in tries}
        for (task, index, attempt), run in runs.items():
            ext = run.external
            assert (ext.dag_id, ext.run_id, ext.task_id, ext.map_index, ext.try_number) == (
                "ol_e2e",
                run_id,
                task,
                index,
                attempt,
            )
            assert ext.openlineage_namespace == NAMESPACE and ext.openlineage_run_id

        data = f"{airflow.root.resolve()}/data/e2e"
        detail = {k: store.get_component_run_information(r.id) for k, r in runs.items()}
        failed = detail["featurize", -1, 1]
        assert failed.outputs == () and "not there yet" in (failed.error or "")
        assert detail["shard", 1, 1].outputs == (
            f"{data}/shard-1.csv",
        )  # hook-level lineage, from the provider
        assert detail["publish", -1, 1].inputs == (f"{data}/model.json",)

        # The traces are the lineage Airflow's records imply.
        def traced(output):
            return {
                (n.run.external.task_id, n.run.external.map_index, n.run.external.try_number)
                for n in store.trace(output).nodes
            }

        assert traced(f"file://{data}/published/model.json") == {
            ("publish", -1, 1),
            ("train", -1, 1),
            ("shard", 0, 1),
            ("shard", 1, 1),
            ("featurize", -1, 2),
            ("ingest", -1, 1),
        }
        from sqlalchemy.engine import make_url

        db = make_url(warehouse)
        table = f"postgres://{db.host}:{db.port or 5432}/{db.database}.public.report"
        assert traced(table) == {("report", -1, 1), ("load", -1, 1)}
        assert "customers" in " ".join(detail["report", -1, 1].inputs)
    finally:
        store.dispose()
