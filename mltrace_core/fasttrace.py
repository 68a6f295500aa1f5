"""The hot path of a whole upstream trace: one statement, plain tuples, records built cheaply.

A trace is mostly answer: a 10,000-run lineage returns 10,000 runs with their pointers and 30,000 edges.
So the database walks the lineage and returns, in the same statement, one row per run reached -- its
columns, its input and output names and its lineage edges (producer and pointer) each aggregated into one
text column -- and Python only splits those, assigns depths (breadth first: a run's depth is its shortest
distance from the start) and builds the records, without SQLAlchemy's result machinery (the rows come
from the driver's cursor) and without the per-field cost of a frozen dataclass's ``__init__``.

The same rows give the JSON shape of :meth:`Trace.to_dict` directly (:func:`trace_data`), for the web
API: a large trace is sent without building a ``Run``, ``TraceNode`` or ``TraceEdge`` per run and edge.
Both are checked equal to the general walk of :mod:`mltrace_core.lineage` (tests/core/test_fasttrace.py),
which still serves truncated traces (``max_depth``) and downstream walks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from mltrace_core.naming import canonical
from mltrace_core.queries import INDEX_WALK, PLANNER_DEFAULTS, SEP, dialect_of, utc
from mltrace_core.records import ExternalIdentity, Run, Trace, TraceEdge, TraceNode

_RS = "\x1e"  # between an edge's producer and pointer name (validation.py keeps it out of names)
_PINNED = "\x1d"  # marks an input name read at a given version (it can have a newer version)
_THRESHOLD, _INPUTS, _OUTPUTS, _EDGES, _FIRST = 17, 18, 19, 20, 21  # columns of a row


@cache
def _sql(dialect: str, by_name: bool) -> str:
    """The walk from a run (``start``) or from the latest writer of a pointer (``name``), then a row per
    run reached; its last column marks the start run."""
    pg = dialect == "postgresql"

    def agg(value: str) -> str:
        return f"string_agg({value}, E'\\x1f')" if pg else f"group_concat({value}, char(31))"

    def param(name: str) -> str:
        return f"%({name})s" if pg else f":{name}"

    rs, pin = ("E'\\x1e'", "E'\\x1d'") if pg else ("char(30)", "char(29)")
    if by_name:  # as addresses.resolve picks it: latest end, then the later-logged run
        start = f"""SELECT s.run_id, 1 FROM (SELECT o.run_id FROM run_outputs o
            WHERE o.pointer_id = (SELECT p.id FROM pointers p WHERE p.name = {param("name")})
            ORDER BY o.end_ts DESC, o.run_id DESC LIMIT 1) AS s"""
    else:
        start = f"SELECT CAST({param('start')} AS {'BIGINT' if pg else 'INTEGER'}), 1"
    return f"""
    WITH RECURSIVE reach(run_id, first) AS (
        {start}
        UNION
        SELECT d.producer_run_id, 0 FROM run_dependencies d JOIN reach r ON d.consumer_run_id = r.run_id
    )
    SELECT r.id, c.name, r.start_ts, r.end_ts, r.status, r.notes, r.code_version, r.error,
        r.ext_dag_id, r.ext_run_id, r.ext_task_id, r.ext_try_number, r.ext_map_index, r.ext_url,
        r.ext_ol_run_id, r.ext_ol_namespace, r.ext_ol_parent_run_id, r.staleness_threshold,
        (SELECT {agg(f"CASE WHEN i.version IS NULL THEN p.name ELSE {pin} || p.name END")}
           FROM run_inputs i JOIN pointers p ON p.id = i.pointer_id WHERE i.run_id = r.id),
        (SELECT {agg("p.name")} FROM run_outputs o JOIN pointers p ON p.id = o.pointer_id
           WHERE o.run_id = r.id),
        (SELECT {agg(f"d.producer_run_id || {rs} || p.name")}
           FROM run_dependencies d JOIN pointers p ON p.id = d.pointer_id WHERE d.consumer_run_id = r.id),
        x.first
    FROM reach x JOIN component_runs r ON r.id = x.run_id JOIN components c ON c.id = r.component_id
    """


def _fetch(cursor: Any, dialect: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The statement on a driver cursor. PostgreSQL gets the index-walk planner settings in the same
    round trip (a multi-statement string: each statement is planned after the ones before it ran; in
    autocommit they end with it, inside a transaction with the transaction)."""
    sql = _sql(dialect, "name" in params)
    cursor.execute(f"{INDEX_WALK}; {sql}" if dialect == "postgresql" else sql, params)
    return list(cursor.fetchall())


def _rows(session: Session, start: int) -> list[tuple[Any, ...]]:
    """The walk from run ``start`` inside the session's transaction (planner settings reset after it)."""
    dialect = dialect_of(session)
    cursor = session.connection().connection.cursor()
    try:
        rows = _fetch(cursor, dialect, {"start": start})
        if dialect == "postgresql":
            cursor.execute(PLANNER_DEFAULTS)
        return rows
    finally:
        cursor.close()


def plain_name(address: str) -> str | None:
    """The pointer a plain pointer name addresses (its canonical spelling, as addresses.resolve reads
    it); ``None`` for a run address or one with an ``@`` (a version, perhaps), which resolve handles."""
    if address.startswith("run:") or "@" in address:
        return None
    return canonical(address)


def trace_named(cursor: Any, dialect: str, name: str) -> Trace | None:
    """The whole trace of pointer ``name``'s latest version in one statement on a driver cursor (one
    round trip); ``None`` when the general path must answer (an unknown or unwritten pointer, or a run
    whose staleness needs more queries)."""
    walk = _named(cursor, dialect, name)
    return None if walk is None else _trace(walk, walk.stale(None), name)


def trace_data_named(cursor: Any, dialect: str, name: str) -> dict[str, Any] | None:
    """:func:`trace_named`'s JSON shape, without the records."""
    walk = _named(cursor, dialect, name)
    return None if walk is None else _data(walk, walk.stale(None), name)


def _named(cursor: Any, dialect: str, name: str) -> _Walk | None:
    rows = _fetch(cursor, dialect, {"name": name})
    start = next((row[0] for row in rows if row[_FIRST]), None)
    if start is None:
        return None
    walk = _Walk(rows, start, dialect)
    return None if walk.needs_session() else walk


def timestamps(dialect: str) -> Callable[[Any], datetime]:
    """How to convert a timestamp as the driver returns it: SQLite's naive UTC text, as SQLAlchemy stores
    it, in one call (``fromisoformat`` of the text with its offset), else with :func:`utc`."""
    if dialect == "sqlite":
        return _sqlite_utc
    return utc


def _sqlite_utc(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text + "+00:00")
    except ValueError:  # written with an offset (stores from the first release): as utc() reads it
        return utc(text)


_NO_NAMES: tuple[str, ...] = ()
_NO_EDGES: list[tuple[int, str]] = []


class _Walk:
    """A trace's rows, parsed: per run id, (row, start, end, sorted inputs, sorted outputs, sorted
    (producer, pointer) edges); the trace order (by depth, newest first within a depth) and depths."""

    __slots__ = ("runs", "order", "depth", "pinned")

    def __init__(self, rows: list[tuple[Any, ...]], start: int, dialect: str) -> None:
        ts = timestamps(dialect)
        runs: dict[int, tuple[Any, ...]] = {}
        pinned: set[tuple[int, str]] = set()
        for row in rows:
            rid, ins, outs, found = row[0], row[_INPUTS], row[_OUTPUTS], row[_EDGES]
            inputs = outputs = _NO_NAMES
            pairs = _NO_EDGES
            if ins:
                names = ins.split(SEP)
                if _PINNED in ins:
                    names = [_pin(rid, n, pinned) for n in names]
                names.sort()
                inputs = tuple(names)
            if outs:
                names = outs.split(SEP)
                names.sort()
                outputs = tuple(names)
            if found:
                pairs = [(int(p), n) for p, n in [item.split(_RS) for item in found.split(SEP)]]
                pairs.sort()
            runs[rid] = (row, ts(row[2]), ts(row[3]), inputs, outputs, pairs)
        # Breadth first, a level at a time: a level sorted newest first is the trace order.
        depth = {start: 0}
        order: list[int] = []
        level = [start] if start in runs else []
        d = 0
        while level:
            level.sort(reverse=True)
            order += level
            d += 1
            nxt = []
            for rid in level:
                for producer, _ in runs[rid][5]:
                    if producer not in depth:
                        depth[producer] = d
                        nxt.append(producer)
            level = nxt
        self.runs, self.order, self.depth, self.pinned = runs, order, depth, pinned

    def _recheck(self) -> set[int]:
        """Runs that read a pinned version through a lineage edge: only those can have read an older
        version than the latest, which takes a query per run to tell."""
        return {rid for rid, name in self.pinned if any(n == name for _, n in self.runs[rid][5])}

    def _legacy(self) -> list[int]:
        """Runs logged through mltrace 0.17's API: judged by its rules (a query)."""
        return [rid for rid, parsed in self.runs.items() if parsed[0][_THRESHOLD] is not None]

    def needs_session(self) -> bool:
        return bool(self._recheck() or self._legacy())

    def stale(self, session: Session | None) -> dict[int, list[str]]:
        """Staleness warnings by run, as :func:`queries.load_runs` gives them (same rules, same order);
        ``session``: for the runs that need queries (none when :meth:`needs_session` is false)."""
        from mltrace_core import queries

        stale: dict[int, list[str]] = {}
        runs = self.runs
        # An input produced 30 days before its reader: impossible in a shorter history.
        if runs and (
            max(r[1] for r in runs.values()) - min(r[2] for r in runs.values()) > queries.STALE_AFTER
        ):
            for consumer, parsed in runs.items():
                for producer, name in parsed[5]:
                    warning = queries._age_warning(name, parsed[1] - runs[producer][2], producer)
                    if warning:
                        stale.setdefault(consumer, []).append(warning)
        recheck = self._recheck()
        if recheck and session is not None:
            stale.update(queries._dependencies_and_staleness(session, recheck)[1])
        for warnings in stale.values():
            warnings.sort()
        legacy = self._legacy()
        if legacy and session is not None:
            from mltrace_core import staleness

            stale.update(staleness.messages(session, legacy))
        return stale


def _pin(rid: int, name: str, pinned: set[tuple[int, str]]) -> str:
    if name[0] == _PINNED:
        name = name[1:]
        pinned.add((rid, name))
    return name


def external_of(row: tuple[Any, ...]) -> ExternalIdentity | None:
    """The Airflow/OpenLineage identity in columns 8-16 of a run's row (the layout the trace and the
    fast reads share: id, component, start, end, status, notes, code version, error, identity...)."""
    if row[8] is None and row[10] is None and row[13] is None and row[14] is None:
        return None
    return ExternalIdentity(*row[8:17])


def run_fields(
    row: tuple[Any, ...],
    start: datetime,
    end: datetime,
    inputs: tuple[str, ...],
    outputs: tuple[str, ...],
    dependencies: tuple[int, ...],
    stale: tuple[str, ...],
) -> dict[str, Any]:
    """Every field of a :class:`Run` from a run's row (see :func:`external_of`) and what was parsed
    from it, for :func:`new_record`: the one place a trace and the fast reads build their records."""
    return {
        "id": row[0],
        "component": row[1],
        "start": start,
        "end": end,
        "status": row[4],
        "inputs": inputs,
        "outputs": outputs,
        "dependencies": dependencies,
        "notes": row[5] or "",
        "stale": stale,
        "code_version": row[6],
        "error": row[7],
        "external": external_of(row),
        "git_hash": None,
        "git_tags": None,
        "code_snapshot": None,
        "upstream_components": None,
    }


R = TypeVar("R")


def new_record(cls: type[R], fields: dict[str, Any]) -> R:
    """An instance of the frozen dataclass ``cls`` with ``fields`` (every field, in declaration order),
    its ``__dict__`` filled at once: the ``__init__`` of a frozen dataclass sets each field through
    ``object.__setattr__``, which costs more than the rest of a trace's record building. The same record
    (equal, hashable, ``replace()``-able)."""
    record = cls.__new__(cls)
    record.__dict__.update(fields)
    return record


_new_tuple = tuple.__new__  # a named tuple's own __new__ is a Python function: one call more per record


def trace(session: Session, start: int, output: str) -> Trace:
    """The whole upstream trace of run ``start`` (as :func:`lineage.walk` with no depth limit)."""
    walk = _Walk(_rows(session, start), start, dialect_of(session))
    return _trace(walk, walk.stale(session), output)


def trace_data(session: Session, start: int, output: str) -> dict[str, Any]:
    """``trace(session, start, output).to_dict()``, built from the rows without the records."""
    walk = _Walk(_rows(session, start), start, dialect_of(session))
    return _data(walk, walk.stale(session), output)


def _trace(walk: _Walk, stale: dict[int, list[str]], output: str) -> Trace:
    nodes = []
    edges = []
    runs, depth = walk.runs, walk.depth
    for rid in walk.order:
        row, begin, end, inputs, outputs, pairs = runs[rid]
        deps = tuple(dict.fromkeys([p for p, _ in pairs]))
        run = new_record(Run, run_fields(row, begin, end, inputs, outputs, deps, tuple(stale.get(rid, ()))))
        nodes.append(_new_tuple(TraceNode, (depth[rid], run)))
        edges += [_new_tuple(TraceEdge, (rid, p, n)) for p, n in pairs]
    return Trace(output=output, nodes=tuple(nodes), edges=tuple(edges))


def _data(walk: _Walk, stale: dict[int, list[str]], output: str) -> dict[str, Any]:
    runs, depth = walk.runs, walk.depth
    nodes = []
    edges: list[dict[str, Any]] = []
    for rid in walk.order:
        row, begin, end, inputs, outputs, pairs = runs[rid]
        external = external_of(row)
        nodes.append(
            {
                "id": rid,
                "component": row[1],
                "start": begin.isoformat(),
                "end": end.isoformat(),
                "duration": (end - begin).total_seconds(),
                "status": row[4],
                "inputs": list(inputs),
                "outputs": list(outputs),
                "dependencies": list(dict.fromkeys([p for p, _ in pairs])),
                "notes": row[5] or "",
                "stale": stale.get(rid, []),
                "code_version": row[6],
                "error": row[7],
                "external": external.to_dict() if external else None,
                "depth": depth[rid],
            }
        )
        edges += [{"from": rid, "to": p, "via": n} for p, n in pairs]
    return {"output": output, "direction": "upstream", "nodes": nodes, "edges": edges, "truncated": False}
