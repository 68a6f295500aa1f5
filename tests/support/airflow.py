"""Helpers of the Airflow integration tests: running a DAG, and reading back what it logged."""

from __future__ import annotations

import json
from urllib.parse import quote

import mltrace_core


def connection_env(uri: str) -> str:
    """An ``AIRFLOW_CONN_*`` value for a store URI, in the form users write: JSON for SQLite, a URI
    for PostgreSQL."""
    if uri.startswith("sqlite:///"):
        return json.dumps({"conn_type": "sqlite", "host": uri[len("sqlite:///") :]})
    return uri


def run_dag(dags, dag_id: str, **conf):
    """One DAG run with ``dag.test()``; returns the DagRun (a failed task does not raise)."""
    return dags[dag_id].test(run_conf=conf or None)


def ti_url(dag_id: str, run_id: str, task_id: str, try_number: int = 1, map_index: int = -1) -> str:
    mapped = f"/mapped/{map_index}" if map_index >= 0 else ""
    return f"http://127.0.0.1:8080/dags/{dag_id}/runs/{quote(run_id)}/tasks/{task_id}{mapped}?try_number={try_number}"


def runs_of(store: mltrace_core.Store, dag_run) -> list:
    """The runs logged for a DAG run, as comparable rows:
    (component, task_id, map_index, try_number, status, sorted inputs, sorted outputs)."""
    return sorted(
        (
            r.component,
            r.external.task_id,
            r.external.map_index,
            r.external.try_number,
            r.status,
            tuple(sorted(r.inputs)),
            tuple(sorted(r.outputs)),
        )
        for r in store.get_runs_for_dag_run(dag_run.dag_id, dag_run.run_id)
    )
