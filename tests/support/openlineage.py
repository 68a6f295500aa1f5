"""OpenLineage for tests: events as producers send them, for the ingestion tests (plain dicts in the
spec's shape, with the Airflow provider's facets: the shapes recorded from
apache-airflow-providers-openlineage 2.20.3: the ``airflow`` run facet with
``dag``/``dagRun``/``task``/``taskInstance``, ``map_index`` absent for an unmapped task; a ``parent`` facet
naming the DAG run; ``jobType`` TASK or DAG); validation of events against the 2-0-2 spec (the schema
files in tests/fixtures/openlineage, copied from the OpenLineage repository); and a loopback HTTP capture
server that records what an OpenLineage HTTP transport sends (our own test peer: it accepts every event)."""

from __future__ import annotations

import gzip
import json
import threading
import uuid
from datetime import datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

import mltrace_core
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


FIXTURES = Path(__file__).parent.parent / "fixtures" / "openlineage"
SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
_RUN_FACETS = {
    "parent": "ParentRunFacet",
    "errorMessage": "ErrorMessageRunFacet",
    "mltrace_run": "MltraceRunFacet",
}
_DATASET_FACETS = {"version": "DatasetVersionDatasetFacet"}


def _formats() -> FormatChecker:
    """The spec's formats, checked strictly (jsonschema skips them without optional packages)."""
    checker = FormatChecker(())

    @checker.checks("uuid", raises=ValueError)
    def is_uuid(value: object) -> bool:
        return not isinstance(value, str) or str(uuid.UUID(value)) == value.lower()

    @checker.checks("date-time", raises=ValueError)
    def is_time(value: object) -> bool:
        return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None

    @checker.checks("uri", raises=ValueError)
    def is_uri(value: object) -> bool:
        return not isinstance(value, str) or bool(urlsplit(value).scheme)

    return checker


@cache
def _validators() -> dict[str, Draft202012Validator]:
    schemas = [json.loads(p.read_text()) for p in sorted(FIXTURES.glob("*.json"))]
    facet = Path(mltrace_core.__file__).parent / "schemas" / "MltraceRunFacet.json"
    schemas.append(json.loads(facet.read_text()))
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas)
    ids = {s["$id"].rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".json"): s["$id"] for s in schemas}
    checker = _formats()

    def validator(ref: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": ref}, registry=registry, format_checker=checker)

    out = {"RunEvent": validator(f"{SPEC}#/$defs/RunEvent")}
    for name in (*_RUN_FACETS.values(), *_DATASET_FACETS.values()):
        out[name] = validator(f"{ids[name]}#/$defs/{name}")
    return out


def validate_event(event: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``event`` is a valid 2-0-2 RunEvent whose standard facets
    (and ``mltrace_run``) are valid too."""
    checks = _validators()
    checks["RunEvent"].validate(event)
    for name, facet in (event["run"].get("facets") or {}).items():
        if name in _RUN_FACETS:
            checks[_RUN_FACETS[name]].validate(facet)
    for dataset in [*event.get("inputs", ()), *event.get("outputs", ())]:
        for name, facet in (dataset.get("facets") or {}).items():
            if name in _DATASET_FACETS:
                checks[_DATASET_FACETS[name]].validate(facet)


class Capture:
    """A loopback HTTP server that accepts OpenLineage events (any path, gzip or not) and keeps them."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.paths: list[str] = []
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                data = json.loads(body)
                capture.paths.append(self.path)
                capture.events.extend(data if isinstance(data, list) else [data])
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Capture:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
