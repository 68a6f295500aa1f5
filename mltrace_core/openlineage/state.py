"""The merge of one OpenLineage run's events, and the run record it becomes.

Events are keyed by ``run.runId`` and merged as the spec says, whatever order they arrive in:

- inputs and outputs: the union over the run's events (the provider's START lists the declared datasets,
  its COMPLETE the hook-level ones instead: only the union is right); a dataset's version is the one its
  latest event gave (a version beats none);
- facets mltrace reads (``airflow``, ``parent``, ``errorMessage``): a later event's replaces an earlier
  one's (by event time, ties broken by value, so the result does not depend on arrival order);
- start: the earliest START's time (it may lag Airflow's own start of the try), or without a START the
  earliest event's; end: the terminal event's time; the first terminal event received is the end (a late
  START or RUNNING never changes it);
- merging an event twice changes nothing.

The state is plain JSON (``openlineage_runs.state``) so a run in progress survives between deliveries,
API server workers and ``mltrace ingest`` runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from mltrace_core import validation as valid
from mltrace_core.formats import ABORTED, FAILED, RUNNING, SUCCESS
from mltrace_core.openlineage.events import AirflowTry, Parent, Pointer, RunEvent
from mltrace_core.records import ExternalIdentity
from mltrace_core.runs import RunRecord

STATUS_OF = {"COMPLETE": SUCCESS, "FAIL": FAILED, "ABORT": ABORTED}
KEY_PREFIX = "openlineage:"  # the idempotency key of a run that is not an Airflow try


@dataclass(frozen=True)
class RunState:
    run_id: str
    namespace: str
    job: str
    first: datetime  # the earliest event
    last: datetime  # the latest event
    start: datetime | None = None  # the earliest START
    end: tuple[str, datetime] | None = None  # (COMPLETE|FAIL|ABORT, time) of the first terminal event
    inputs: dict[str, tuple[str | None, datetime]] = field(default_factory=dict)  # pointer -> (version, time)
    outputs: dict[str, tuple[str | None, datetime]] = field(default_factory=dict)
    airflow: tuple[datetime, AirflowTry] | None = None
    parent: tuple[datetime, Parent] | None = None
    error: tuple[datetime, str] | None = None
    query: bool = False  # a SQL query run of a task: folds into its parent's run

    @property
    def status(self) -> str:
        return STATUS_OF[self.end[0]] if self.end else RUNNING

    @property
    def ended(self) -> bool:
        return self.end is not None

    @property
    def began(self) -> datetime:
        return self.start or self.first

    @property
    def key(self) -> str:
        """The run's idempotency key: an Airflow try's (the same as a traced operator's or the listener's)
        or ``openlineage:<run id>``."""
        return key_of(self.run_id, self.airflow[1] if self.airflow else None)

    @property
    def component(self) -> str:
        if self.airflow is not None:
            return f"{self.airflow[1].dag_id}.{self.airflow[1].task_id}"
        return self.job

    @property
    def identity(self) -> ExternalIdentity:
        """The run's OpenLineage identity (run id, job namespace, parent run id), and for an Airflow try
        its Airflow one."""
        ol: dict[str, Any] = {
            "openlineage_run_id": self.run_id,
            "openlineage_namespace": self.namespace,
            "openlineage_parent_run_id": self.parent[1].run_id if self.parent else None,
        }
        if self.airflow is None:
            return ExternalIdentity(**ol)
        a = self.airflow[1]
        return ExternalIdentity(a.dag_id, a.run_id, a.task_id, a.try_number, a.map_index, a.url, **ol)

    def record(
        self,
        key: str | None = None,
        extra_inputs: dict[str, str | None] | None = None,
        extra_outputs: dict[str, str | None] | None = None,
        pointers: bool = True,
    ) -> RunRecord:
        """The run record of this state: ended, or (``running``) a placeholder. ``pointers=False``: none
        (a run in progress enters the lineage only when it ends). ``extra_*``: datasets of its SQL query
        runs. A failed or aborted run keeps its inputs and error, never outputs."""
        inputs = {name: version for name, (version, _) in self.inputs.items()}
        outputs = {name: version for name, (version, _) in self.outputs.items()}
        for mine, extra in ((inputs, extra_inputs), (outputs, extra_outputs)):
            for name, version in (extra or {}).items():
                if mine.get(name) is None:
                    mine[name] = version
        status = self.status
        end = self.end[1] if self.end else self.last
        error = self.error[1] if self.error and status in (FAILED, ABORTED) else None
        # Built checked, not re-checked (RunRecord.checked was a fifth of a batch's Python time): every
        # field comes from events.parse, which applied the same limits (names, versions, ids, UTC times),
        # or from a row already stored; only the error message is free text. tests/core/test_ol_fast.py
        # holds this record equal to its .checked() for any events.
        return RunRecord(
            key=key or self.key,
            component=self.component,
            start=self.began,
            end=max(end, self.began),
            status=status,
            error=None if error is None else valid.text(error, "error", truncate=True),
            external=self.identity,
            component_tags=(self.airflow[1].dag_id,) if self.airflow else (),
            inputs=tuple((n, v, None) for n, v in sorted(inputs.items())) if pointers else (),
            outputs=tuple((n, v, None) for n, v in sorted(outputs.items()))
            if pointers and status in (SUCCESS, RUNNING)
            else (),
        )

    def datasets(self) -> tuple[dict[str, str | None], dict[str, str | None]]:
        """(inputs, outputs) as pointer -> version."""
        return (
            {n: v for n, (v, _) in self.inputs.items()},
            {n: v for n, (v, _) in self.outputs.items()},
        )


def key_of(run_id: str, airflow: AirflowTry | None) -> str:
    """The idempotency key of OpenLineage run ``run_id``, an Airflow try if ``airflow`` names one."""
    if airflow is not None:
        a = airflow
        key = ExternalIdentity(a.dag_id, a.run_id, a.task_id, a.try_number, a.map_index).key
        if key is not None:
            return key
    return KEY_PREFIX + run_id


def merge(state: RunState | None, event: RunEvent) -> RunState:
    """``state`` with ``event`` merged in (``None``: the run's first event)."""
    if state is None:
        state = RunState(event.run_id, event.namespace, event.job, event.time, event.time)
    changes: dict[str, Any] = {
        "first": min(state.first, event.time),
        "last": max(state.last, event.time),
        "inputs": _union(state.inputs, event.inputs, event.time),
        "outputs": _union(state.outputs, event.outputs, event.time),
        "query": state.query or event.query_of_parent,
    }
    if event.time >= state.last:
        changes["namespace"], changes["job"] = event.namespace, event.job
    if event.event_type == "START":
        changes["start"] = event.time if state.start is None else min(state.start, event.time)
    if event.terminal and state.end is None:
        changes["end"] = (event.event_type, event.time)
    for name, value in (("airflow", event.airflow), ("parent", event.parent), ("error", event.error)):
        if value is not None:
            changes[name] = _later(getattr(state, name), (event.time, value))
    return replace(state, **changes)


def _union(
    mine: dict[str, tuple[str | None, datetime]], datasets: tuple[Pointer, ...], time: datetime
) -> dict[str, tuple[str | None, datetime]]:
    if not datasets:
        return mine
    out = dict(mine)
    for pointer in datasets:
        old = out.get(pointer.name)
        new = (pointer.version, time)
        if old is None or (new[0] is not None and (old[0] is None or _order(new) > _order(old))):
            out[pointer.name] = new
    return out


def _order(item: tuple[Any, datetime]) -> tuple[datetime, str]:
    return (item[1], json.dumps(_plain(item[0]), sort_keys=True))


def _later(old: tuple[datetime, Any] | None, new: tuple[datetime, Any]) -> tuple[datetime, Any]:
    """Of two (time, facet value): the later; at one time, the larger value's JSON (order-independent).
    The values themselves are not ordered (an ``AirflowTry``): compare them only for equality."""
    if old is None or new[0] > old[0]:
        return new
    if new[0] < old[0] or new[1] == old[1]:  # the same facet again: every event of a try carries it
        return old
    return new if _order(new[::-1]) > _order(old[::-1]) else old


# -- JSON ---------------------------------------------------------------------------------------------
def to_json(state: RunState) -> str:
    return json.dumps(_plain(state), separators=(",", ":"), sort_keys=True)


def from_json(text: str) -> RunState:
    data = json.loads(text)
    when = datetime.fromisoformat
    return RunState(
        run_id=data["run_id"],
        namespace=data["namespace"],
        job=data["job"],
        first=when(data["first"]),
        last=when(data["last"]),
        start=when(data["start"]) if data.get("start") else None,
        end=(data["end"][0], when(data["end"][1])) if data.get("end") else None,
        inputs={n: (v, when(t)) for n, (v, t) in data.get("inputs", {}).items()},
        outputs={n: (v, when(t)) for n, (v, t) in data.get("outputs", {}).items()},
        airflow=(when(data["airflow"][0]), AirflowTry(**data["airflow"][1])) if data.get("airflow") else None,
        parent=(when(data["parent"][0]), Parent(**data["parent"][1])) if data.get("parent") else None,
        error=(when(data["error"][0]), data["error"][1]) if data.get("error") else None,
        query=bool(data.get("query")),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (AirflowTry, Parent)):
        return {k: _plain(v) for k, v in value.__dict__.items()}
    if isinstance(value, RunState):
        return {k: _plain(v) for k, v in value.__dict__.items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value
