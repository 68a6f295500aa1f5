"""Lineage checks: is the whole trace of an output fit to be promoted? The rule behind the Airflow gate
(``LineageCheckOperator``/``LineageCheckSensor``), kept here so it runs, and is tested, without Airflow.

A check walks the trace of an address (any address: ``NAME``, ``NAME@VERSION``, ``run:ID``, as of a time;
:mod:`mltrace_core.addresses`) and fails it, with one :class:`CheckReason` per finding, each naming the run
it came from, when the trace

- reads or writes a flagged pointer, or the flagged version of one (:data:`FLAGGED`);
- holds a run that did not succeed (:data:`FAILED_RUN`);
- holds a run with a stale input, by the staleness rules of :mod:`mltrace_core.queries` (an input produced
  more than the run's threshold before it, or a newer version existing when it started) (:data:`STALE`);
- holds a run with a failed test result (the 0.17 ``Test`` results, ``run_tests``) (:data:`FAILED_TEST`);
- reads an input whose writing run ended more than ``max_input_age`` before the check (:data:`INPUT_AGE`);
- lacks a run of a required component (:data:`MISSING_COMPONENT`): ``"evaluate"`` is met by a component
  named ``evaluate`` or ending in ``.evaluate`` (an Airflow task id, components being ``dag_id.task_id``);
- is empty: nothing wrote the output (:data:`NO_RUN`).

Cost: the trace itself (one recursive query and the batch load of its runs) plus two indexed queries over
the trace's run ids (flagged pointers through their partial index, failed tests): within a small margin
of a trace (``bench/gate_bench.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import TextClause, and_, false, select, text
from sqlalchemy.orm import Session

from mltrace_core import addresses
from mltrace_core import flags as flag_sql
from mltrace_core.flags import flagged_names
from mltrace_core.formats import SUCCESS, when
from mltrace_core.models import (
    component_tags,
    components,
    run_dependencies,
    run_tests,
    runs,
)
from mltrace_core.queries import _bind_ids, dialect_of, id_in
from mltrace_core.records import Address, Trace, iso
from mltrace_core.runs import TestResult

FLAGGED, FAILED_RUN, STALE, FAILED_TEST = "flagged", "failed_run", "stale", "failed_test"
INPUT_AGE, MISSING_COMPONENT, NO_RUN = "input_age", "missing_component", "no_run"
CHECKS = (FLAGGED, FAILED_RUN, STALE, FAILED_TEST, INPUT_AGE, MISSING_COMPONENT, NO_RUN)
GATE_TAG = "mltrace-gate"  # the component tag of a gate's decision runs


class CheckReason(NamedTuple):
    """One finding: which check, the run it came from (``None``: the trace as a whole), and why."""

    check: str
    run: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "run": self.run, "message": self.message}


@dataclass(frozen=True)
class CheckResult:
    """The decision on one address: ``passed`` when there is no reason against it."""

    address: Address
    reasons: tuple[CheckReason, ...]
    runs_checked: int
    checked_at: datetime
    max_input_age: timedelta | None = None
    require_components: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.reasons

    def summary(self) -> str:
        """One line, then one line per reason: the notes of the decision's run and the task log."""
        head = f"lineage check of {self.address.address}: " + (
            f"passed ({self.runs_checked} runs checked)"
            if self.passed
            else f"FAILED, {len(self.reasons)} reason(s) in {self.runs_checked} runs"
        )
        lines = [head]
        for r in self.reasons:
            lines.append(f"- {r.check}" + (f" (run {r.run})" if r.run is not None else "") + f": {r.message}")
        return "\n".join(lines)

    def test_results(self) -> tuple[TestResult, ...]:
        """The decision as test results (one per check, and one failed result per reason), so the run
        page, ``inspect`` and the JSON API show each reason with the run it came from."""
        applied = [c for c in CHECKS if c not in (INPUT_AGE, MISSING_COMPONENT)]
        if self.max_input_age is not None:
            applied.append(INPUT_AGE)
        if self.require_components:
            applied.append(MISSING_COMPONENT)
        failed = {r.check for r in self.reasons}
        out = [TestResult("after", f"gate.{c}", True, "") for c in applied if c not in failed]
        out += [
            TestResult("after", f"gate.{r.check}", False, (f"run {r.run}: " if r.run else "") + r.message)
            for r in self.reasons
        ]
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address.to_dict(),
            "passed": self.passed,
            "reasons": [r.to_dict() for r in self.reasons],
            "runs_checked": self.runs_checked,
            "checked_at": iso(self.checked_at),
            "max_input_age": None if self.max_input_age is None else self.max_input_age.total_seconds(),
            "require_components": list(self.require_components),
        }


def check(
    session: Session,
    where: Address,
    *,
    max_input_age: timedelta | None = None,
    require_components: Iterable[str] = (),
    now: datetime | None = None,
) -> CheckResult:
    """Check the trace of the resolved address ``where`` (see the module docstring)."""
    now = now or datetime.now(timezone.utc)
    required = tuple(require_components)
    trace = addresses.trace_of(session, where)
    reasons = _reasons(session, where, trace, max_input_age, required, now)
    return CheckResult(where, tuple(reasons), len(trace.nodes), now, max_input_age, required)


def _reasons(
    session: Session,
    where: Address,
    trace: Trace,
    max_age: timedelta | None,
    required: tuple[str, ...],
    now: datetime,
) -> list[CheckReason]:
    if not trace.nodes:
        return [CheckReason(NO_RUN, None, f"nothing has written {where.address}: no trace to check")]
    found: list[CheckReason] = []
    ids = [n.run.id for n in trace.nodes]
    for run_id, pointer, version in _flagged(session, trace):
        at = f" version {version}" if version else ""
        found.append(CheckReason(FLAGGED, run_id, f"{pointer}{at} is flagged"))
    for node in trace.nodes:
        run = node.run
        if run.status != SUCCESS:
            why = f": {run.error}" if run.error else ""
            found.append(CheckReason(FAILED_RUN, run.id, f"{run.component} ended {run.status}{why}"))
        found.extend(CheckReason(STALE, run.id, warning) for warning in run.stale)
    for run_id, name, message in _failed_tests(session, ids):
        found.append(
            CheckReason(FAILED_TEST, run_id, f"test {name} failed" + (f": {message}" if message else ""))
        )
    if max_age is not None:
        # only the producers written before the limit are old; their edges name what they wrote
        old = {n.run.id: n.run.end for n in trace.nodes if now - n.run.end > max_age}
        seen: set[tuple[int, str]] = set()
        for edge in trace.edges if old else ():
            produced = old.get(edge.producer)
            if produced is not None and (edge.producer, edge.via) not in seen:
                seen.add((edge.producer, edge.via))
                found.append(
                    CheckReason(
                        INPUT_AGE,
                        edge.producer,
                        f"{edge.via} was written {when(produced)}, more than {_span(max_age)} ago",
                    )
                )
    names = {n.run.component for n in trace.nodes}
    for name in required:
        if not any(c == name or c.endswith("." + name) for c in names):
            found.append(CheckReason(MISSING_COMPONENT, None, f"no run of component {name!r} in the trace"))
    order = {c: i for i, c in enumerate(CHECKS)}
    return sorted(found, key=lambda r: (order[r.check], r.run or 0, r.message))


def _flagged(session: Session, trace: Trace) -> list[tuple[int, str, str | None]]:
    """(run, pointer, version) for every read or write of a trace's runs that an active flag reaches.

    The trace's runs already name their inputs and outputs: only those that read or wrote a flagged pointer
    (the partial index of flagged names: usually none) are asked about, not the whole trace again."""
    names = set(flagged_names(session))
    if not names:
        return []
    touched = [
        n.run.id
        for n in trace.nodes
        if not (names.isdisjoint(n.run.inputs) and names.isdisjoint(n.run.outputs))
    ]
    return sorted(
        {(run, name, version) for run, name, version, _ in flagged_pointers(session, touched)},
        key=lambda r: (r[0], r[1], r[2] or ""),
    )


def flagged_pointers(
    session: Session, ids: Iterable[int], sides: tuple[str, ...] = ("input", "output")
) -> list[tuple[int, str, str | None, str]]:
    """(run, pointer, version, "input" | "output") for every read or write of the runs ``ids`` that an
    active flag reaches, by the one definition of :func:`mltrace_core.flags.reaches` (a pointer flag:
    every read and write; a version flag: that version, an unversioned read counting as the version its
    producer wrote -- the version given here). What the gate and the tab mark; ``pointers.flagged``
    (a partial index) narrows the join to the few flagged pointers first."""
    wanted = list(ids)
    if not wanted:
        return []
    rows = session.execute(_flagged_sql(dialect_of(session), sides), _bind_ids(session, wanted)).all()
    found = {(int(r[0]), str(r[1]), r[2], str(r[3])) for r in rows}
    return sorted(found, key=lambda r: (r[0], r[1], r[2] or "", r[3]))


_READ = flag_sql.read_version("i.version", flag_sql.linked_producer("i"), "i.pointer_id")


@cache
def _flagged_sql(dialect: str, sides: tuple[str, ...]) -> TextClause:
    ids = (
        "= ANY(CAST(:ids AS BIGINT[]))"
        if dialect == "postgresql"
        else "IN (SELECT value FROM json_each(:ids))"
    )
    flagged = "p.flagged" if dialect == "postgresql" else "p.flagged = 1"
    parts = {
        "input": f"""
            SELECT i.run_id, p.name, {_READ}, 'input' FROM run_inputs i
            JOIN pointers p ON p.id = i.pointer_id AND {flagged}
            WHERE i.run_id {ids}
              AND EXISTS (SELECT 1 FROM flags f WHERE {flag_sql.reaches("f", "i.pointer_id", _READ)})""",
        "output": f"""
            SELECT o.run_id, p.name, o.version, 'output' FROM run_outputs o
            JOIN pointers p ON p.id = o.pointer_id AND {flagged}
            WHERE o.run_id {ids}
              AND EXISTS (SELECT 1 FROM flags f WHERE {flag_sql.reaches("f", "o.pointer_id", "o.version")})""",
    }
    return text(" UNION ".join(parts[side] for side in ("input", "output") if side in sides))


class LineageMarks(NamedTuple):
    """What the views mark on a set of runs: the flagged pointers each read or wrote, and the latest
    decision of each gate that checked one of their outputs."""

    flagged: tuple[tuple[int, str, str | None, str], ...]  # (run, pointer, version, side)
    gates: tuple[tuple[int, int, str, str], ...]  # (checked run, gate run, gate component, status)

    def to_dict(self) -> dict[str, Any]:
        flagged: dict[str, list[dict[str, Any]]] = {}
        for run, name, version, side in self.flagged:
            flagged.setdefault(str(run), []).append({"pointer": name, "version": version, "side": side})
        gates: dict[str, list[dict[str, Any]]] = {}
        for run, gate, component, status in self.gates:
            gates.setdefault(str(run), []).append(
                {"run": gate, "component": component, "passed": status == SUCCESS}
            )
        return {"flagged": flagged, "gates": gates}


def marks(session: Session, run_ids: Iterable[int]) -> LineageMarks:
    """:class:`LineageMarks` of the runs ``run_ids`` (a trace's): two indexed queries over the ids."""
    ids = list(run_ids)
    if not ids:
        return LineageMarks((), ())
    d, g = run_dependencies, runs
    query = (
        select(d.c.producer_run_id, g.c.id, components.c.name, g.c.status)
        .join(g, g.c.id == d.c.consumer_run_id)
        .join(components, components.c.id == g.c.component_id)
        .join(
            component_tags,
            and_(component_tags.c.component_id == g.c.component_id, component_tags.c.tag == GATE_TAG),
        )
        .where(id_in(dialect_of(session), d.c.producer_run_id))
        .order_by(d.c.producer_run_id, g.c.start_ts.desc(), g.c.id.desc())
    )
    latest: dict[tuple[int, str], tuple[int, int, str, str]] = {}
    for producer, gate, component, status in session.execute(query, _bind_ids(session, ids)):
        latest.setdefault((producer, component), (producer, gate, component, status))
    return LineageMarks(tuple(flagged_pointers(session, ids)), tuple(latest.values()))


def _failed_tests(session: Session, ids: list[int]) -> list[tuple[int, str, str]]:
    """Failed test results of the runs ``ids``; none asked for where the store holds no test result at
    all (the usual case: only mltrace 0.17's ``Test`` API records them), which one probe tells."""
    if session.execute(select(run_tests.c.run_id).limit(1)).first() is None:
        return []
    query = (
        select(run_tests.c.run_id, run_tests.c.name, run_tests.c.message)
        .where(run_tests.c.passed == false(), id_in(dialect_of(session), run_tests.c.run_id))
        .order_by(run_tests.c.run_id, run_tests.c.position)
    )
    return [(int(r[0]), str(r[1]), str(r[2] or "")) for r in session.execute(query, _bind_ids(session, ids))]


def _span(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def input_age(value: object) -> timedelta | None:
    """``max_input_age`` as given: a timedelta, seconds, or ``N`` and a unit (``s m h d w``: ``"7d"``)."""
    from mltrace_core import validation as valid
    from mltrace_core.errors import InvalidInputError

    if value is None or isinstance(value, timedelta):
        age = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        age = timedelta(seconds=value)
    elif isinstance(value, str) and (ago := valid._AGO.fullmatch(value.strip())):
        age = timedelta(seconds=int(ago.group(1)) * valid._UNIT_SECONDS[ago.group(2)])
    else:
        raise InvalidInputError(f"max_input_age is a timedelta, seconds or '7d'-style text, not {value!r}")
    if age is not None and age <= timedelta(0):
        raise InvalidInputError("max_input_age must be positive")
    return age


def required_components(value: object) -> tuple[str, ...]:
    """``require_components`` as given: a name or a list of names."""
    from mltrace_core import validation as valid
    from mltrace_core.errors import InvalidInputError

    if value is None:
        return ()
    if isinstance(value, str):
        return (valid.name(value, "required component"),)
    if not isinstance(value, Iterable):
        raise InvalidInputError("require_components is a component name or a list of them")
    return tuple(valid.name(v, "required component") for v in value)
