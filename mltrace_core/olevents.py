"""mltrace runs as OpenLineage run events: data only (dicts ready for ``json.dumps``), no transport.

The exact inverse of ingestion (issue 11): what ``mltrace ingest`` makes of these events is the run they
came from. One run becomes

- a ``START`` event at its start, with its inputs, and
- a ``COMPLETE``, ``FAIL`` or ``ABORT`` event at its end (by its status), with its inputs and -- for a
  successful run only, as stored -- its outputs; ``FAIL`` carries the ``errorMessage`` facet. A run still
  ``running`` has only its ``START``.

Datasets are its pointers named by :func:`mltrace_core.naming.dataset_of_pointer` (``/data/x.csv`` is
(``file``, ``/data/x.csv``)), with a ``version`` facet (``datasetVersion``) where the pointer has a version.

The run: its OpenLineage run id (for an Airflow try the provider's, recorded when it ran; else the id in
:func:`mltrace_core.olids.run_id_of_key`), the ``mltrace_run`` facet (mltrace's run id, key, component,
tags, notes, code version: :data:`MLTRACE_FACET_SCHEMA`), and for an Airflow try the ``airflow`` facet with
its identity (as the provider spells it: ``map_index`` only when mapped) and the ``parent`` facet naming its
DAG run (job ``dag_id``; run id as recorded, else a stable id of the DAG run: see :func:`parent_run_id`).
The job: namespace as recorded (the provider's namespace for Airflow, the producer's for ingested runs),
else :func:`mltrace_core.config.openlineage_namespace`; name ``dag_id.task_id`` for an Airflow try (the
provider's job name), else the component.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from mltrace_core import __version__, formats, olids
from mltrace_core.naming import dataset_of_pointer

SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
SCHEMA_URL = SPEC + "#/$defs/RunEvent"
PRODUCER = f"https://pypi.org/project/mltrace-airflow/{__version__}/"
_FACETS = "https://openlineage.io/spec/facets/"
VERSION_FACET = _FACETS + "1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"
ERROR_FACET = _FACETS + "1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
PARENT_FACET = _FACETS + "1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet"
# The provider's schema of the airflow facet (the export carries the identity mltrace records, a subset).
AIRFLOW_FACET = (
    "https://raw.githubusercontent.com/apache/airflow/providers-openlineage/2.20.3/providers/openlineage/"
    "src/airflow/providers/openlineage/facets/AirflowRunFacet.json#/$defs/AirflowRunFacet"
)
# Shipped in the package (mltrace_core/schemas/MltraceRunFacet.json); a URN, not a guessed web address.
MLTRACE_FACET_SCHEMA = "urn:mltrace-airflow:spec:facets:1-0-0:MltraceRunFacet.json#/$defs/MltraceRunFacet"
MLTRACE_FACET = "mltrace_run"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_TERMINAL = {formats.SUCCESS: "COMPLETE", formats.FAILED: "FAIL", formats.ABORTED: "ABORT"}


def _facet(schema: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": schema, **fields}


def dataset(pointer: str, version: str | None) -> dict[str, Any]:
    namespace, name = dataset_of_pointer(pointer)
    out: dict[str, Any] = {"namespace": namespace, "name": name}
    if version is not None:
        out["facets"] = {"version": _facet(VERSION_FACET, datasetVersion=version)}
    return out


def parent_run_id(dag_id: str, airflow_run_id: str) -> str:
    """The parent run id of a try logged before mltrace recorded the provider's (schema 0006): not the
    provider's (its logical date was not kept), but one id per DAG run, so its tries still group."""
    return olids.static_uuid(_EPOCH, f"mltrace.dagrun.{dag_id}.{airflow_run_id}".encode())


def run_events(
    *,
    run_id: int,
    key: str,
    component: str,
    start: datetime,
    end: datetime,
    status: str,
    inputs: list[tuple[str, str | None]],
    outputs: list[tuple[str, str | None]],
    namespace: str,
    tags: tuple[str, ...] = (),
    notes: str = "",
    code_version: str | None = None,
    error: str | None = None,
    external: Any = None,
) -> list[dict[str, Any]]:
    """The events of one run (see the module docstring). ``namespace``: the job namespace to use when the
    run has none recorded; ``external``: its :class:`~mltrace_core.ExternalIdentity`, or ``None``."""
    ol_run_id = (external and external.openlineage_run_id) or olids.run_id_of_key(key, start)
    namespace = (external and external.openlineage_namespace) or namespace
    airflow = bool(external and external.dag_id and external.task_id)
    mltrace = {"id": run_id, "key": key, "component": component, "tags": list(tags)}
    if notes:
        mltrace["notes"] = notes
    if code_version:
        mltrace["codeVersion"] = code_version
    facets: dict[str, Any] = {MLTRACE_FACET: _facet(MLTRACE_FACET_SCHEMA, **mltrace)}
    if airflow:
        job_name = f"{external.dag_id}.{external.task_id}"
        facets["airflow"] = _airflow_facet(external, ol_run_id)
        parent = external.openlineage_parent_run_id or parent_run_id(external.dag_id, external.run_id or "")
        link = {"job": {"namespace": namespace, "name": external.dag_id}, "run": {"runId": parent}}
        facets["parent"] = _facet(PARENT_FACET, **link, root=link)
    else:
        job_name = component
    job = {"namespace": namespace, "name": job_name}
    ins = [dataset(name, version) for name, version in inputs]
    events = [_event("START", start, ol_run_id, facets, job, ins, [])]
    terminal = _TERMINAL.get(status)
    if terminal is not None:
        end_facets = dict(facets)
        if terminal == "FAIL":
            end_facets["errorMessage"] = _facet(
                ERROR_FACET, message=error or "failed", programmingLanguage="python"
            )
        outs = [dataset(name, version) for name, version in outputs] if terminal == "COMPLETE" else []
        events.append(_event(terminal, end, ol_run_id, end_facets, job, ins, outs))
    return events


def _airflow_facet(external: Any, ol_run_id: str) -> dict[str, Any]:
    task_instance: dict[str, Any] = {"try_number": external.try_number}
    if external.map_index is not None and external.map_index >= 0:
        task_instance["map_index"] = external.map_index  # the provider leaves -1 out
    if external.url:
        task_instance["log_url"] = external.url
    return _facet(
        AIRFLOW_FACET,
        dag={"dag_id": external.dag_id},
        dagRun={"dag_id": external.dag_id, "run_id": external.run_id},
        task={"task_id": external.task_id},
        taskInstance=task_instance,
        taskUuid=ol_run_id,
    )


def _event(
    kind: str,
    when: datetime,
    ol_run_id: str,
    facets: dict[str, Any],
    job: dict[str, str],
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "eventType": kind,
        "eventTime": when.astimezone(timezone.utc).isoformat(),
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {"runId": ol_run_id, "facets": facets},
        "job": {**job, "facets": {}},
        "inputs": inputs,
        "outputs": outputs,
    }
