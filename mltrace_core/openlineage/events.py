"""OpenLineage events, read and checked: what mltrace takes from a RunEvent, DatasetEvent or JobEvent.

:func:`parse` turns one decoded JSON value into a frozen event, or raises :class:`InvalidEventError`
naming the field (``run.runId``, ``job.name``, ``eventTime``, ``inputs[2].name``...) -- the reason the
ingestion endpoint answers 422 with. It is lenient where the spec lets producers be (``producer``,
``schemaURL`` and ``eventType`` may be missing; unknown facets are ignored) and strict on what mltrace
needs to store a run exactly: a run id that is a UUID, a job, a time, datasets with names that fit
mltrace's limits (validation.py).

What mltrace reads from facets (the rest is acknowledged and dropped):

- ``run.facets.airflow`` (the Airflow provider): dag_id, run_id, task_id, try_number, map_index (absent
  for an unmapped task), the task instance's log URL -- the try's identity, and so its idempotency key;
- ``run.facets.parent``: the parent run (a task's DAG run; a SQL query's task run);
- ``run.facets.errorMessage.message``: the error of a FAIL;
- ``job.facets.jobType.jobType == "DAG"`` (or an ``airflowDagRun`` run facet without ``airflow``): a DAG
  run's event, acknowledged only;
- a dataset's ``facets.version.datasetVersion``: the pointer's version.

Datasets name pointers by :func:`mltrace_core.naming.pointer_of_dataset`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from mltrace_core import validation as valid
from mltrace_core.errors import InvalidEventError, InvalidInputError
from mltrace_core.naming import pointer_of_dataset

EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")
TERMINAL_TYPES = ("COMPLETE", "ABORT", "FAIL")
_QUERY_SUFFIX = re.compile(r"\.(?:manual_)?query\.\d+")


@dataclass(frozen=True)
class Pointer:
    """A dataset as mltrace names it: a pointer, with the version its ``version`` facet gives."""

    name: str
    version: str | None = None


@dataclass(frozen=True)
class AirflowTry:
    """The Airflow task try a RunEvent reports (from the provider's ``airflow`` run facet)."""

    dag_id: str
    run_id: str
    task_id: str
    try_number: int
    map_index: int  # -1: not mapped
    url: str | None = None


@dataclass(frozen=True)
class Parent:
    run_id: str
    namespace: str | None
    job: str | None


@dataclass(frozen=True)
class RunEvent:
    run_id: str  # the OpenLineage run id, a UUID in lower case
    event_type: str  # one of EVENT_TYPES (OTHER when the event has none)
    time: datetime
    namespace: str
    job: str
    inputs: tuple[Pointer, ...] = ()
    outputs: tuple[Pointer, ...] = ()
    airflow: AirflowTry | None = None
    parent: Parent | None = None
    error: str | None = None
    dag_run: bool = False  # an Airflow DAG run's own event (acknowledged, never a component run)

    @property
    def terminal(self) -> bool:
        return self.event_type in TERMINAL_TYPES

    @property
    def query_of_parent(self) -> bool:
        """A SQL query run of a task (``<task job>.query.N``): it folds into its parent's run."""
        if self.parent is None or not self.parent.job:
            return False
        return self.job.startswith(self.parent.job) and bool(
            _QUERY_SUFFIX.fullmatch(self.job[len(self.parent.job) :])
        )


@dataclass(frozen=True)
class DatasetEvent:
    time: datetime
    dataset: Pointer


@dataclass(frozen=True)
class JobEvent:
    time: datetime
    namespace: str
    job: str
    inputs: tuple[Pointer, ...] = ()
    outputs: tuple[Pointer, ...] = ()


Event = RunEvent | DatasetEvent | JobEvent


def parse(data: Any) -> Event:
    """The event ``data`` (decoded JSON) describes; :class:`InvalidEventError` names what is wrong."""
    if not isinstance(data, dict):
        raise InvalidEventError("$", f"an event is a JSON object, not {_kind(data)}")
    time = _time(data)
    if "run" in data or "eventType" in data:
        return _run_event(data, time)
    if "dataset" in data:
        return DatasetEvent(time, _dataset(data["dataset"], "dataset"))
    if "job" in data:
        namespace, job = _job(data)
        return JobEvent(time, namespace, job, _datasets(data, "inputs"), _datasets(data, "outputs"))
    raise InvalidEventError("run", "missing: a RunEvent needs run.runId (or send a DatasetEvent or JobEvent)")


def _run_event(data: dict[str, Any], time: datetime) -> RunEvent:
    run = _object(data, "run", required=True)
    run_id = _uuid(run.get("runId"), "run.runId")
    namespace, job = _job(data)
    event_type = data.get("eventType")
    if event_type is None:
        event_type = "OTHER"
    elif event_type not in EVENT_TYPES:
        raise InvalidEventError(
            "eventType", f"must be one of {', '.join(EVENT_TYPES)}, not {_show(event_type)}"
        )
    facets = _object(run, "facets", "run.facets")
    job_facets = _object(data["job"], "facets", "job.facets")
    airflow = _airflow(facets.get("airflow"))
    job_type = job_facets.get("jobType")
    dag_run = (isinstance(job_type, dict) and job_type.get("jobType") == "DAG") or (
        airflow is None and "airflowDagRun" in facets
    )
    return RunEvent(
        run_id=run_id,
        event_type=event_type,
        time=time,
        namespace=namespace,
        job=job,
        inputs=_datasets(data, "inputs"),
        outputs=_datasets(data, "outputs"),
        airflow=airflow,
        parent=_parent(facets.get("parent")),
        error=_error(facets.get("errorMessage")),
        dag_run=bool(dag_run),
    )


# -- fields -----------------------------------------------------------------------------------------------
def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else "null"
    )


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _object(
    data: dict[str, Any], key: str, where: str | None = None, required: bool = False
) -> dict[str, Any]:
    where = where or key
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidEventError(where, "missing")
        return {}
    if not isinstance(value, dict):
        raise InvalidEventError(where, f"must be an object, not {_kind(value)}")
    return value


def _string(value: Any, where: str, max_bytes: int = valid.MAX_NAME_BYTES) -> str:
    if value is None:
        raise InvalidEventError(where, "missing")
    if not isinstance(value, str):
        raise InvalidEventError(where, f"must be a string, not {_kind(value)}")
    try:
        return valid.name(value, where, max_bytes)
    except InvalidInputError as exc:
        raise InvalidEventError(where, _reason(exc, where)) from None


def _reason(exc: Exception, where: str) -> str:
    text = str(exc)
    return text[len(where) + 1 :] if text.startswith(where + " ") else text


def _uuid(value: Any, where: str) -> str:
    text = _string(value, where, 64)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise InvalidEventError(where, f"must be a UUID, not {_show(text)}") from None


def _job(data: dict[str, Any]) -> tuple[str, str]:
    job = _object(data, "job", required=True)
    return _string(job.get("namespace"), "job.namespace"), _string(job.get("name"), "job.name")


def _time(data: dict[str, Any]) -> datetime:
    value = data.get("eventTime")
    if value is None:
        raise InvalidEventError("eventTime", "missing")
    if not isinstance(value, str):
        raise InvalidEventError("eventTime", f"must be a date-time string, not {_kind(value)}")
    return parse_time(value, "eventTime")


def parse_time(text: str, where: str = "time") -> datetime:
    """An RFC 3339 / ISO-8601 date-time (``validation.iso_time``: ``Z`` or an offset, none means UTC,
    nanoseconds cut to microseconds)."""
    try:
        return valid.iso_time(text, where)
    except InvalidInputError as exc:
        raise InvalidEventError(where, _reason(exc, where)) from None


def _datasets(data: dict[str, Any], key: str) -> tuple[Pointer, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidEventError(key, f"must be an array, not {_kind(value)}")
    found: dict[str, Pointer] = {}
    for i, item in enumerate(value):
        pointer = _dataset(item, f"{key}[{i}]")
        earlier = found.get(pointer.name)
        if earlier is None or pointer.version is not None:
            found[pointer.name] = Pointer(
                pointer.name, pointer.version or cast("str | None", earlier and earlier.version)
            )
    return tuple(found.values())


def _dataset(item: Any, where: str) -> Pointer:
    if not isinstance(item, dict):
        raise InvalidEventError(where, f"a dataset is an object, not {_kind(item)}")
    namespace, name = item.get("namespace"), item.get("name")
    pointer = _POINTERS.get((namespace, name)) if type(namespace) is str and type(name) is str else None
    if pointer is None:
        pointer = _pointer(namespace, name, where)
    facets = _object(item, "facets", f"{where}.facets")
    version = _object(facets, "version", f"{where}.facets.version").get("datasetVersion")
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, (str, int, float)):
            raise InvalidEventError(f"{where}.facets.version.datasetVersion", "must be a string")
        try:
            version = valid.version(version)
        except InvalidInputError as exc:
            raise InvalidEventError(f"{where}.facets.version.datasetVersion", str(exc)) from None
    return Pointer(pointer, version)


def _pointer(namespace: Any, name: Any, where: str) -> str:
    """The pointer of a dataset named for the first time (lately): checked, named, remembered."""
    namespace = _string(namespace, f"{where}.namespace")
    name = _string(name, f"{where}.name")
    try:
        pointer = valid.name(pointer_of_dataset(namespace, name), "pointer name")
    except InvalidInputError as exc:
        raise InvalidEventError(f"{where}.name", str(exc)) from None
    if len(_POINTERS) >= _POINTERS_KEPT:
        _POINTERS.clear()
    _POINTERS[namespace, name] = pointer
    return pointer


# (namespace, name) -> pointer of the datasets seen lately: a dataset is named by every event of every run
# that reads or writes it, and checking and naming it again was a tenth of ingestion's time. Only names
# that passed are kept (a pure function of the two strings), so the cache changes no answer.
_POINTERS: dict[tuple[str, str], str] = {}
_POINTERS_KEPT = 100_000


def _parent(facet: Any) -> Parent | None:
    if not isinstance(facet, dict) or not isinstance(facet.get("run"), dict):
        return None
    try:
        run_id = _uuid(facet["run"].get("runId"), "run.facets.parent.run.runId")
    except InvalidEventError:
        return None  # a parent we cannot name is no parent: the run stands alone
    job = cast("dict[str, Any]", facet.get("job")) if isinstance(facet.get("job"), dict) else {}
    namespace, name = job.get("namespace"), job.get("name")
    return Parent(
        run_id,
        namespace if isinstance(namespace, str) else None,
        name if isinstance(name, str) else None,
    )


def _error(facet: Any) -> str | None:
    if isinstance(facet, dict) and isinstance(facet.get("message"), str) and facet["message"].strip():
        return cast(str, facet["message"])
    return None


def _airflow(facet: Any) -> AirflowTry | None:
    """The try in the provider's ``airflow`` facet, or ``None`` if it does not name a whole try (then the
    run is an ordinary job). ``map_index`` is absent for an unmapped task; ids may contain dots."""
    if not isinstance(facet, dict):
        return None
    dag, dag_run, task, ti = (
        cast("dict[str, Any]", facet.get(k)) if isinstance(facet.get(k), dict) else {} for k in _AIRFLOW_PARTS
    )
    dag_id = dag.get("dag_id") or dag_run.get("dag_id")
    run_id, task_id, try_number = dag_run.get("run_id"), task.get("task_id"), ti.get("try_number")
    map_index = ti.get("map_index", -1)
    if map_index is None:
        map_index = -1
    try:
        return AirflowTry(
            dag_id=valid.name(dag_id, "dag_id", 250),
            run_id=valid.name(run_id, "run_id", 250),
            task_id=valid.name(task_id, "task_id", 250),
            try_number=valid.try_number(try_number),
            map_index=valid.map_index(map_index),
            url=_url(ti.get("log_url")),
        )
    except InvalidInputError:
        return None


def _url(value: Any) -> str | None:
    try:
        return valid.name(value, "log_url", 4096) if isinstance(value, str) else None
    except InvalidInputError:
        return None


_AIRFLOW_PARTS = ("dag", "dagRun", "task", "taskInstance")
