"""OpenLineage events as producers send them, for the ingestion tests: plain dicts in the spec's shape,
with the Airflow provider's facets (the shapes recorded from apache-airflow-providers-openlineage 2.20.3:
the ``airflow`` run facet with ``dag``/``dagRun``/``task``/``taskInstance``, ``map_index`` absent for an
unmapped task; a ``parent`` facet naming the DAG run; ``jobType`` TASK or DAG)."""

from __future__ import annotations

import uuid
from datetime import datetime

from tests.support.timeline import at

PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/2.20.3"
SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
NAMESPACE = "airflow-test"


def new_id() -> str:
    return str(uuid.uuid4())


def dataset(name: str, namespace: str = "file", version: str | None = None) -> dict:
    out: dict = {"namespace": namespace, "name": name, "facets": {}}
    if version is not None:
        out["facets"]["version"] = {"_producer": PRODUCER, "_schemaURL": "x", "datasetVersion": version}
    return out


def event(
    event_type: str | None,
    run_id: str,
    minute: float,
    job: str = "job",
    namespace: str = NAMESPACE,
    inputs=(),
    outputs=(),
    run_facets: dict | None = None,
    job_facets: dict | None = None,
) -> dict:
    """A RunEvent at ``minute`` after T0; datasets as dicts or as ``/path`` names (namespace ``file``)."""
    body: dict = {
        "eventTime": (at(minute) if not isinstance(minute, datetime) else minute).isoformat(),
        "producer": PRODUCER,
        "schemaURL": SCHEMA,
        "run": {"runId": run_id, "facets": run_facets or {}},
        "job": {"namespace": namespace, "name": job, "facets": job_facets or {}},
        "inputs": [dataset(d) if isinstance(d, str) else d for d in inputs],
        "outputs": [dataset(d) if isinstance(d, str) else d for d in outputs],
    }
    if event_type is not None:
        body["eventType"] = event_type
    return body


def airflow_facets(
    dag_id: str,
    task_id: str,
    run_id: str = "manual__2026-01-01T00:00:00+00:00",
    try_number: int = 1,
    map_index: int = -1,
    dag_run_uuid: str | None = None,
) -> dict:
    """The run facets the provider sends with a task's events."""
    ti: dict = {
        "try_number": try_number,
        "log_url": f"http://airflow/dags/{dag_id}/runs/{run_id}/tasks/{task_id}",
    }
    if map_index != -1:
        ti["map_index"] = map_index
    return {
        "airflow": {
            "_producer": PRODUCER,
            "dag": {"dag_id": dag_id, "tags": "['a', 'b']", "owner": "airflow"},
            "dagRun": {"dag_id": dag_id, "run_id": run_id, "clear_number": 0},
            "task": {"task_id": task_id, "inlets": "[{'uri': 'file:///x', 'extra': {}}]", "retries": 1},
            "taskInstance": ti,
            "taskUuid": new_id(),
        },
        "parent": parent_facet(dag_run_uuid or new_id(), dag_id),
    }


def parent_facet(run_id: str, job: str, namespace: str = NAMESPACE) -> dict:
    return {"_producer": PRODUCER, "run": {"runId": run_id}, "job": {"namespace": namespace, "name": job}}


def task_job(kind: str = "TASK") -> dict:
    return {
        "jobType": {
            "_producer": PRODUCER,
            "integration": "AIRFLOW",
            "jobType": kind,
            "processingType": "BATCH",
        }
    }


def error_facet(message: str) -> dict:
    return {"errorMessage": {"_producer": PRODUCER, "message": message, "programmingLanguage": "python"}}
