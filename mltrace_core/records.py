"""What queries return: frozen, plain records (never live ORM objects). ``to_dict()`` is the JSON shape
the CLI's ``--json`` and the web API share: ISO-8601 UTC times, pointers by name, runs by id."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from mltrace_core.runs import TestResult


def iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts is not None else None


@dataclass(frozen=True)
class ExternalIdentity:
    """Where a run came from outside mltrace: for Airflow, one task try (and a link to its page); for
    OpenLineage, the run id the run has there (for an Airflow try, the id the OpenLineage provider gives
    it, recorded whether the provider is installed or not), the namespace of its job, and the run id of
    its parent run (an Airflow try's DAG run)."""

    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    try_number: int | None = None
    map_index: int | None = None
    url: str | None = None
    openlineage_run_id: str | None = None
    openlineage_namespace: str | None = None
    openlineage_parent_run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "try_number": self.try_number,
            "map_index": self.map_index,
            "url": self.url,
            "openlineage_run_id": self.openlineage_run_id,
            "openlineage_namespace": self.openlineage_namespace,
            "openlineage_parent_run_id": self.openlineage_parent_run_id,
        }

    @property
    def key(self) -> str | None:
        """The natural idempotency key of an Airflow task try, when the identity is complete."""
        if None in (self.dag_id, self.run_id, self.task_id, self.try_number):
            return None
        map_index = -1 if self.map_index is None else self.map_index
        return f"airflow:{self.dag_id}:{self.run_id}:{self.task_id}:{map_index}:{self.try_number}"


@dataclass(frozen=True)
class Run:
    id: int
    component: str
    start: datetime
    end: datetime
    status: str
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    dependencies: tuple[int, ...] = ()  # upstream run ids
    notes: str = ""
    stale: tuple[str, ...] = ()
    code_version: str | None = None
    error: str | None = None
    external: ExternalIdentity | None = None
    # What mltrace 0.17 kept of the code (schema 0003). Filled by inspect (``RunDetail``) and by the
    # module-level 0.17 functions (``get_history``, ``backtrace``); left unset (None) by listings and
    # traces, which may hold 100,000 runs. Not in ``to_dict()``: inspect's JSON has them.
    git_hash: str | None = None
    git_tags: tuple[str, ...] | None = None
    code_snapshot: str | None = None
    upstream_components: tuple[str, ...] | None = None  # 0.17's ``dependencies``: component names

    @property
    def duration(self) -> float:
        """Seconds from start to end."""
        return (self.end - self.start).total_seconds()

    # mltrace 0.17's names for the same things
    @property
    def component_name(self) -> str:
        return self.component

    @property
    def start_timestamp(self) -> datetime:
        return self.start

    @property
    def end_timestamp(self) -> datetime:
        return self.end

    def to_dictionary(self) -> dict[str, Any]:
        """The run as mltrace 0.17's ``ComponentRun.to_dictionary()``: inputs and outputs as IOPointers,
        ``dependencies`` as the upstream components' names (our ``dependencies`` are run ids)."""
        from mltrace_core.entities.io_pointer import IOPointer

        versions = dict(getattr(self, "input_versions", ())), dict(getattr(self, "output_versions", ()))
        types = dict(getattr(self, "pointer_types", ()))
        return {
            "component_name": self.component,
            "notes": self.notes,
            "inputs": [IOPointer(n, version=versions[0].get(n), type=types.get(n)) for n in self.inputs],
            "outputs": [IOPointer(n, version=versions[1].get(n), type=types.get(n)) for n in self.outputs],
            "git_hash": self.git_hash,
            "git_tags": None if self.git_tags is None else list(self.git_tags),
            "code_snapshot": self.code_snapshot,
            "start_timestamp": self.start,
            "end_timestamp": self.end,
            "dependencies": list(self.upstream_components or ()),
            "id": self.id,
            "stale": list(self.stale),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "component": self.component,
            "start": iso(self.start),
            "end": iso(self.end),
            "duration": self.duration,
            "status": self.status,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "dependencies": list(self.dependencies),
            "notes": self.notes,
            "stale": list(self.stale),
            "code_version": self.code_version,
            "error": self.error,
            "external": self.external.to_dict() if self.external else None,
        }


@dataclass(frozen=True)
class RunDetail(Run):
    """A run as ``inspect`` shows it: with pointer versions and the runs that consumed its outputs."""

    input_versions: tuple[tuple[str, str | None], ...] = ()
    output_versions: tuple[tuple[str, str | None], ...] = ()
    downstream: tuple[int, ...] = ()
    component_tags: tuple[str, ...] = ()
    pointer_types: tuple[tuple[str, str | None], ...] = ()  # DATA, MODEL, ENDPOINT, UNKNOWN or our own
    tests: tuple[TestResult, ...] = ()  # the component's before/after tests, in the order they ran

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["input_versions"] = dict(self.input_versions)
        out["output_versions"] = dict(self.output_versions)
        out["downstream"] = list(self.downstream)
        out["component_tags"] = list(self.component_tags)
        out["pointer_types"] = dict(self.pointer_types)
        out["git_hash"] = self.git_hash
        out["git_tags"] = None if self.git_tags is None else list(self.git_tags)
        out["code_snapshot"] = self.code_snapshot
        out["tests"] = [t._asdict() for t in self.tests]
        return out


class TraceNode(NamedTuple):
    """A run in a trace, at its depth (a named tuple: a 10,000-run trace makes many)."""

    depth: int
    run: Run

    def to_dict(self) -> dict[str, Any]:
        return {**self.run.to_dict(), "depth": self.depth}


class TraceEdge(NamedTuple):
    """``consumer`` read ``via`` as written by ``producer``."""

    consumer: int
    producer: int
    via: str

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.consumer, "to": self.producer, "via": self.via}


@dataclass(frozen=True)
class Trace:
    """A lineage graph. Upstream (``trace``): depth 0 is the run that wrote ``output`` last.
    Downstream (``downstream``): depth 0 are the runs that read ``output``. Edges point from
    consumer to producer, labelled with the pointer, in both directions."""

    output: str
    nodes: tuple[TraceNode, ...]
    edges: tuple[TraceEdge, ...]
    truncated: bool = False
    direction: str = "upstream"

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "direction": self.direction,
            "nodes": [n.to_dict() for n in self.nodes],
            "edges": [e.to_dict() for e in self.edges],
            "truncated": self.truncated,
        }


@dataclass(frozen=True)
class FlagRecord:
    """One flag: on pointer ``pointer`` (``version`` ``None``: every version of it, later ones included),
    why, by whom (the Airflow user, or the OS user from the CLI), when, and when it ended (``None``:
    still active). See :mod:`mltrace_core.flags`."""

    pointer: str
    version: str | None
    reason: str | None
    by: str | None
    at: datetime
    unflagged_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.unflagged_at is None

    @property
    def target(self) -> str:
        """The address the flag is on: ``NAME`` or ``NAME@VERSION``."""
        return self.pointer if self.version is None else f"{self.pointer}@{self.version}"

    def describe(self) -> str:
        """One line naming the flag, for a task log or a run's notes."""
        by = f" by {self.by}" if self.by else ""
        why = f": {self.reason}" if self.reason else ""
        return f"{self.target} flagged{by} at {iso(self.at)}{why}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "pointer": self.pointer,
            "version": self.version,
            "reason": self.reason,
            "by": self.by,
            "at": iso(self.at),
            "unflagged_at": iso(self.unflagged_at),
        }


@dataclass(frozen=True)
class Review:
    """Flagged outputs, every flag record (the history too), and the runs most common to the traces of
    the active flags (highest count first).

    Unpacks like mltrace's pair: ``flagged, runs = review_flagged_outputs()``."""

    flagged: tuple[str, ...]
    runs: tuple[tuple[Run, int], ...] = field(default=())
    flags: tuple[FlagRecord, ...] = field(default=())

    def __iter__(self) -> Iterator[list[Any]]:
        yield list(self.flagged)
        yield list(self.runs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "flagged": list(self.flagged),
            "flags": [f.to_dict() for f in self.flags],
            "runs": [{"run": run.to_dict(), "count": count} for run, count in self.runs],
        }


@dataclass(frozen=True)
class AirflowRun:
    """One Airflow DAG run an impact reaches, with the (sorted, unique) ids of its affected tasks."""

    dag_id: str
    run_id: str
    task_ids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"dag_id": self.dag_id, "run_id": self.run_id, "task_ids": list(self.task_ids)}


@dataclass(frozen=True)
class Impact:
    """What an address reaches downstream (see :mod:`mltrace_core.impact`): one page of ``runs``, each
    with whether its outputs are still live; every affected Airflow DAG run; ``next``: the ``after`` of
    the next page (``None``: last page); ``total``: how many runs in all (not in the JSON shape)."""

    address: str
    runs: tuple[tuple[Run, bool], ...]
    airflow: tuple[AirflowRun, ...]
    next: int | None = None
    total: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "runs": [{**run.to_dict(), "live": live} for run, live in self.runs],
            "airflow": [a.to_dict() for a in self.airflow],
            "next": self.next,
        }


@dataclass(frozen=True)
class Address:
    """What an address named, resolved to the run a trace starts from.

    ``kind``: ``"pointer"`` (``NAME``: its latest version, or the latest written by ``as_of``),
    ``"version"`` (``NAME@VERSION``: that version's latest writer) or ``"run"`` (``run:ID``).
    ``pointer``/``version``: the pointer and the version of it the start run wrote (``None`` for a run
    address; ``version`` is ``None`` for an unversioned write). ``run``: the start run; ``None`` only for
    a pointer nobody has written (its trace is empty)."""

    address: str
    kind: str
    run: int | None
    pointer: str | None = None
    version: str | None = None
    as_of: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "kind": self.kind,
            "run": self.run,
            "pointer": self.pointer,
            "version": self.version,
            "as_of": iso(self.as_of),
        }


class PointerVersion(NamedTuple):
    """One write of a pointer: the version written (``None``: unversioned), by which run, when it ended,
    how that run ended, and how many runs' lineage edges for the pointer lead to that run. (A named
    tuple: a pointer may have been written 10,000 times.)"""

    version: str | None
    run: int
    end: datetime
    status: str
    readers: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "run": self.run,
            "end": iso(self.end),
            "status": self.status,
            "readers": self.readers,
        }


@dataclass(frozen=True)
class RunChange:
    """A run of A matched with a run of B that differ: ``differences`` are (field, value in a, value
    in b) rows, in the order of :data:`mltrace_core.diff.FIELDS`."""

    a: int
    b: int
    component: str
    differences: tuple[tuple[str, Any, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "component": self.component,
            "differences": {name: [va, vb] for name, va, vb in self.differences},
        }


@dataclass(frozen=True)
class TraceDiff:
    """Two traces matched run by run (see :mod:`mltrace_core.diff`): the runs only in A, only in B, the
    matched runs that differ, and the first divergences, (a, b) with ``None`` on a one-sided run's
    other side. ``pairs`` (every match, unchanged ones included) and the two traces are kept for the
    views; they are not part of the JSON shape."""

    a: Address
    b: Address
    only_a: tuple[int, ...]
    only_b: tuple[int, ...]
    changed: tuple[RunChange, ...]
    first_divergences: tuple[tuple[int | None, int | None], ...]
    pairs: tuple[tuple[int, int], ...] = field(default=(), repr=False)
    trace_a: Trace | None = field(default=None, repr=False, compare=False)
    trace_b: Trace | None = field(default=None, repr=False, compare=False)

    @property
    def empty(self) -> bool:
        return not (self.only_a or self.only_b or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": {"address": self.a.address, "run": self.a.run},
            "b": {"address": self.b.address, "run": self.b.run},
            "only_a": list(self.only_a),
            "only_b": list(self.only_b),
            "changed": [c.to_dict() for c in self.changed],
            "first_divergences": [{"a": a, "b": b} for a, b in self.first_divergences],
        }
