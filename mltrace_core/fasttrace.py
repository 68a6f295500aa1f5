"""The hot path of a whole upstream trace: one statement, plain tuples, records built cheaply.

A trace is mostly answer: a 10,000-run lineage returns 10,000 runs with their pointers and 30,000 edges.
So the database walks the lineage and returns, in the same statement, one row per run reached -- its
columns, its input names and lineage edges (producer and pointer; read in one pass over its inputs, since
an edge is an input with a producer) in one text column, its output names in another -- and Python only
splits those, assigns depths (breadth first: a run's depth is its shortest distance from the start) and
builds the records, without SQLAlchemy's result machinery (the rows come from the driver's cursor), without
the per-field cost of a frozen dataclass's ``__init__``, and with C-level calls over whole columns rather
than a Python call per run.

The same rows give the JSON shape of :meth:`Trace.to_dict` directly (:func:`trace_data`), for the web
API: a large trace is sent without building a ``Run``, ``TraceNode`` or ``TraceEdge`` per run and edge.
Both are checked equal to the general walk of :mod:`mltrace_core.lineage` (tests/core/test_fasttrace.py),
which still serves truncated traces (``max_depth``) and downstream walks.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from functools import cache, wraps
from itertools import accumulate, chain, compress, filterfalse, repeat
from operator import add, attrgetter, floordiv, itemgetter, not_
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from mltrace_core.db import PreparedStatement
from mltrace_core.naming import canonical
from mltrace_core.queries import INDEX_WALK, PLANNER_DEFAULTS, SEP, TEXT_TIMES, dialect_of, utc
from mltrace_core.records import ExternalIdentity, Run, Trace, TraceEdge, TraceNode

_PINNED = "\x1d"  # marks an input name read at a given version (it can have a newer version)
_EDGES_FOLLOW = "\x1c"  # in a run's inputs column: its input names, this, then its lineage edges
# Columns of a row: 0-17 as fastread's (see external_of), then these.
_THRESHOLD, _INPUTS, _OUTPUTS, _FIRST = 17, 18, 19, 20


@cache
def _sql(dialect: str, by_name: bool, prepared: bool = False, text_times: bool = TEXT_TIMES) -> str:
    """The walk from a run (``start``) or from the latest writer of a pointer (``name``), then a row per
    run reached. Names and edges come as text joined by the unit separator, '' for none (so that Python
    splits every row alike); edges flat, producer then pointer. A run's lineage edges are read with its
    inputs, in one pass over them (an edge is an input that has a producer): its input names, then
    :data:`_EDGES_FOLLOW`, then its edges, in one column; for a run logged through mltrace 0.17's API,
    then the mark again and, per lineage edge, its producer and how many runs of the producer's component
    started from the producer to this run (what 0.17's staleness rules count, :mod:`mltrace_core.staleness`;
    counted in the same pass over the inputs, not in a second walk of the run's dependencies, which cost
    12 % of the statement on a lineage of such runs). The start run marked. ``text_times=False``: PostgreSQL's
    times typed by the driver (Python 3.10's form; the tests compare the two)."""
    pg = dialect == "postgresql"

    def agg(value: str) -> str:
        return (
            f"COALESCE(string_agg({value}, E'\\x1f'), '')"
            if pg
            else f"COALESCE(group_concat({value}, char(31)), '')"
        )

    def param(name: str) -> str:
        if prepared:  # the statement's one parameter, in PREPARE's notation
            return "$1"
        return f"%({name})s" if pg else f":{name}"

    sep, pin, follow = ("E'\\x1f'", "E'\\x1d'", "E'\\x1c'") if pg else ("char(31)", "char(29)", "char(28)")
    count = """SELECT count(*) FROM component_runs prod JOIN component_runs o ON o.component_id = prod.component_id
        AND o.start_ts >= prod.start_ts AND o.start_ts <= r.start_ts AND o.id <> r.id
        WHERE prod.id = d.producer_run_id"""  # as staleness.py counts fresher runs
    if by_name:  # as addresses.resolve picks it: latest end, then the later-logged run
        start = f"""SELECT o.run_id FROM run_outputs o
            WHERE o.pointer_id = (SELECT p.id FROM pointers p WHERE p.name = {param("name")})
            ORDER BY o.end_ts DESC, o.run_id DESC LIMIT 1"""
    else:
        start = f"SELECT CAST({param('start')} AS {'BIGINT' if pg else 'INTEGER'})"
    # A run of 0.17's API: per edge (a producer read twice is counted twice alike), else nothing at all.
    # The threshold is tested inside the aggregate too: an aggregate is computed before the CASE around
    # it is, so only this keeps the counts from being taken for every edge of every run.
    counted = agg(
        f"CASE WHEN r.staleness_threshold IS NOT NULL AND d.producer_run_id IS NOT NULL"
        f" THEN d.producer_run_id || {sep} || ({count}) END"
    )
    fresher = f"CASE WHEN r.staleness_threshold IS NOT NULL THEN {follow} || {counted} ELSE '' END"
    # PostgreSQL: each run reached is looked up by its key, whatever the statistics say (a lineage just
    # logged, not analyzed yet, looks like a 10-row table, and a join over it then scans it once per run).
    # Both backends join the components: PostgreSQL then keeps the few components of a lineage in a
    # Memoize node (one lookup per component, not per run: 5 % of a 10,000-run trace's statement), and
    # SQLite's join is a few percent cheaper than a subquery per run.
    runs = (
        "reach x CROSS JOIN LATERAL (SELECT * FROM component_runs r WHERE r.id = x.run_id OFFSET 0) r"
        " JOIN components c ON c.id = r.component_id"
        if pg
        else "reach x CROSS JOIN component_runs r ON r.id = x.run_id CROSS JOIN components c ON c.id = r.component_id"
    )
    # Times as UTC text on both backends, converted in Python by one C-level call each (_utc_column):
    # psycopg2 builds a time zone-aware timestamp per value, 7 % of the fetch of a trace's rows.
    start_ts, end_ts = (
        ("(r.start_ts AT TIME ZONE 'UTC')::text", "(r.end_ts AT TIME ZONE 'UTC')::text")
        if pg and text_times
        else ("r.start_ts", "r.end_ts")
    )
    return f"""
    WITH RECURSIVE first(run_id) AS ({start}),
    reach(run_id) AS (
        SELECT run_id FROM first
        UNION
        SELECT d.producer_run_id FROM run_dependencies d JOIN reach r ON d.consumer_run_id = r.run_id
    )
    SELECT r.id, c.name, {start_ts}, {end_ts}, r.status, COALESCE(r.notes, ''), r.code_version, r.error,
        r.ext_dag_id, r.ext_run_id, r.ext_task_id, r.ext_try_number, r.ext_map_index, r.ext_url,
        r.ext_ol_run_id, r.ext_ol_namespace, r.ext_ol_parent_run_id, r.staleness_threshold,
        (SELECT {agg(f"CASE WHEN i.version IS NULL THEN p.name ELSE {pin} || p.name END")}
             || {follow} || {agg(f"d.producer_run_id || {sep} || p.name")} || {fresher}
           FROM run_inputs i JOIN pointers p ON p.id = i.pointer_id
           LEFT JOIN run_dependencies d ON d.consumer_run_id = i.run_id AND d.pointer_id = i.pointer_id
           WHERE i.run_id = r.id),
        (SELECT {agg("p.name")} FROM run_outputs o JOIN pointers p ON p.id = o.pointer_id
           WHERE o.run_id = r.id),
        CASE WHEN r.id = (SELECT run_id FROM first) THEN 1 ELSE 0 END
    FROM {runs}
    """


def _fetch(cursor: Any, dialect: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The statement on a driver cursor. PostgreSQL gets the index-walk planner settings in the same
    round trip (a multi-statement string: each statement is planned after the ones before it ran; in
    autocommit they end with it, inside a transaction with the transaction); by name, outside a
    transaction (the fast read), as a prepared statement (:data:`NAMED`)."""
    if dialect != "postgresql":
        cursor.execute(_sql(dialect, "name" in params), params)
    elif "name" in params and cursor.connection.autocommit:
        NAMED.execute(cursor, params)
    else:
        cursor.execute(f"{INDEX_WALK}; {_sql(dialect, 'name' in params)}", params)
    return list(cursor.fetchall())


# PostgreSQL: the trace by name is a prepared statement of each connection (db.PreparedStatement),
# planned once (the pointer's name tells the planner nothing; the walk is forced onto the indexes either
# way). Planning the statement -- a recursive walk and seven subplans -- costs 0.5 ms, a few percent of a
# 1,000-run trace, every call.
NAMED = PreparedStatement(
    "mltrace_trace_named", "text", _sql("postgresql", True, True), "%(name)s", INDEX_WALK
)


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


P = ParamSpec("P")
T = TypeVar("T")


def uncollected(fn: Callable[P, T]) -> Callable[P, T]:
    """``fn`` with the cyclic garbage collector paused while it runs. A 10,000-run trace allocates some
    100,000 containers (rows, records, tuples), none in a cycle; each 700 allocations start a collection
    that scans the young ones, and the survivors' promotions start full ones: a fifth of the record
    building, for no garbage (Mercurial's ``util.nogc`` does the same while building large structures).
    Reference counting still frees everything. Left alone when already paused (by the caller, or by
    another thread's trace, whose end resumes it: a process-wide switch, so a pause another thread starts
    meanwhile is ended with this one's)."""

    @wraps(fn)
    def paused(*args: P.args, **kwargs: P.kwargs) -> T:
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()

    return paused


def plain_name(address: str) -> str | None:
    """The pointer a plain pointer name addresses (its canonical spelling, as addresses.resolve reads
    it); ``None`` for a run address or one with an ``@`` (a version, perhaps), which resolve handles."""
    if address.startswith("run:") or "@" in address:
        return None
    return canonical(address)


@uncollected
def trace_named(cursor: Any, dialect: str, name: str) -> Trace | None:
    """The whole trace of pointer ``name``'s latest version in one statement on a driver cursor (one
    round trip); ``None`` when the general path must answer (an unknown or unwritten pointer, or a run
    whose staleness needs more queries)."""
    rows = _fetch(cursor, dialect, {"name": name})
    walk = _named(rows)
    return None if walk is None else _trace(walk, walk.stale(None), name)


@uncollected
def trace_data_named(cursor: Any, dialect: str, name: str) -> dict[str, Any] | None:
    """:func:`trace_named`'s JSON shape, without the records."""
    rows = _fetch(cursor, dialect, {"name": name})
    walk = _named(rows)
    return None if walk is None else _data(walk, walk.stale(None), name)


def _named(rows: list[tuple[Any, ...]]) -> _Walk | None:
    walk = _Walk(rows)
    return None if walk.start is None or walk.needs_session() else walk


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


def _utc_column(values: tuple[Any, ...]) -> list[datetime]:
    """A whole column of the trace's times as aware UTC datetimes, by C-level calls: naive UTC text
    (SQLite; PostgreSQL, see :func:`_sql`) by ``fromisoformat`` (one by one only when one was written
    with an offset, as SQLite stores from the first release have them); PostgreSQL's typed values (Python
    3.10) as they are when the session's time zone is UTC (what the store's connections set)."""
    if not values or isinstance(values[0], str):
        try:
            return list(map(_fromisoformat, map(str.__add__, values, repeat("+00:00"))))
        except ValueError:
            return list(map(_sqlite_utc, values))
    if set(map(_tzinfo, values)) <= _UTC_ONLY:
        return list(values)
    return list(map(utc, values))


_fromisoformat = datetime.fromisoformat
_tzinfo = attrgetter("tzinfo")
_UTC_ONLY = {timezone.utc}
_producer = itemgetter(1)


def _names(texts: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Each text of names joined by the unit separator ('' for none) as a sorted tuple, by C-level calls;
    then the few empty texts (split as ``('',)``) made ``()``, found by ``compress`` without a Python
    call per text (names are never empty: only an empty text gives '')."""
    found: list[tuple[str, ...]] = list(map(tuple, map(sorted, map(str.split, texts, repeat(SEP)))))
    for k in compress(range(len(texts)), map(not_, texts)):
        found[k] = ()
    return found


def _edges(ids: tuple[int, ...], texts: tuple[str, ...]) -> list[list[TraceEdge]]:
    """Each run's lineage edges, sorted, from its text (producer and pointer, flat, joined by the unit
    separator; '' for none), by C-level calls only: every text joined and split once, each edge made
    from three parallel columns, then the run's slice of them sorted in place (a few edges each: each
    slice is a new list already, and ``sorted()`` would copy it again, 1-2 of the 17-19 ms that 30,000
    edges take)."""
    flat = SEP.join(filter(None, texts)).split(SEP) if any(texts) else []
    # 2k-1 separators in a text of k edges, none in '': k = (separators + 1) // 2
    counts = list(map(floordiv, map(add, map(str.count, texts, repeat(SEP)), repeat(1)), repeat(2)))
    consumers = chain.from_iterable(map(repeat, ids, counts))
    edges = zip(consumers, map(int, flat[::2]), flat[1::2], strict=True)  # counts agree with the texts
    every = list(map(_new_tuple, repeat(TraceEdge), edges))
    ends = list(accumulate(counts))
    runs = list(map(every.__getitem__, map(slice, chain((0,), ends), ends)))
    deque(map(list.sort, runs), 0)
    return runs


class _Walk:
    """A trace's rows, parsed column by column (row order): ids, components, start and end times, sorted
    inputs and outputs, each run's edges as sorted (consumer, producer, pointer) tuples and its distinct
    producers; the start run, the trace order (by depth, newest first within a depth) and depths."""

    __slots__ = (
        "ids", "columns", "starts", "ends", "inputs", "outputs", "edges", "producers", "start",
        "order", "depth", "pinned", "legacy", "fresher",
    )  # fmt: skip

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        columns = list(zip(*rows, strict=True)) if rows else [()] * (_FIRST + 1)
        ids = columns[0]
        if len(set(ids)) != len(
            ids
        ):  # a cycle of zero-length runs reaches its start twice (UNION keeps both)
            rows = list({row[0]: row for row in sorted(rows, key=itemgetter(_FIRST))}.values())
            columns = list(zip(*rows, strict=True))
            ids = columns[0]
        self.ids, self.columns = ids, columns
        self.starts = _utc_column(columns[2])
        self.ends = _utc_column(columns[3])
        thresholds = columns[_THRESHOLD]
        self.legacy = (
            []
            if thresholds.count(None) == len(thresholds)
            else [k for k, threshold in enumerate(thresholds) if threshold is not None]
        )
        parts = map(str.partition, columns[_INPUTS], repeat(_EDGES_FOLLOW))  # (inputs, mark, edges)
        texts, _, edge_texts = zip(*parts, strict=True) if rows else ((), (), ())
        # A run of 0.17's API: its edges, the mark, then its producers' fresher-run counts (see _sql).
        self.fresher: list[str] = []
        if self.legacy:
            split = list(edge_texts)
            for k in self.legacy:
                split[k], _, counted = split[k].partition(_EDGES_FOLLOW)
                self.fresher.append(counted)
            edge_texts = tuple(split)
        self.pinned: set[tuple[int, str]] = set()
        if any(map(str.__contains__, texts, repeat(_PINNED))):
            texts = tuple(self._unpin(rid, text) for rid, text in zip(ids, texts, strict=True))
        self.inputs = _names(texts)
        self.outputs = _names(columns[_OUTPUTS])
        self.edges = _edges(ids, edge_texts)
        self.producers = list(map(tuple, map(dict.fromkeys, map(map, repeat(_producer), self.edges))))
        firsts = columns[_FIRST]
        self.start = ids[firsts.index(1)] if 1 in firsts else None
        # Breadth first, a level at a time: a level sorted newest first is the trace order.
        upstream = dict(zip(ids, self.producers, strict=True))
        depth: dict[int, int] = {}
        order: list[int] = []
        level = [] if self.start is None else [self.start]
        d = 0
        while level:
            if len(level) == 1:  # a chain: one run a level, its producers distinct already
                depth[level[0]] = d
                order.append(level[0])
                d += 1
                level = list(filterfalse(depth.__contains__, upstream[level[0]]))
                continue
            depth.update(zip(level, repeat(d)))
            level.sort(reverse=True)
            order += level
            d += 1
            level = list(set(chain.from_iterable(map(upstream.__getitem__, level))).difference(depth))
        self.order, self.depth = order, depth

    def _unpin(self, rid: int, text: str) -> str:
        """The names of a text with the pinned marks taken off, the pinned ones noted."""
        if _PINNED not in text:
            return text
        names = text.split(SEP)
        for name in names:
            if name[0] == _PINNED:
                self.pinned.add((rid, name[1:]))
        return SEP.join(name.lstrip(_PINNED) for name in names)

    def _recheck(self) -> set[int]:
        """Runs that read a pinned version through a lineage edge: only those can have read an older
        version than the latest, which takes a query per run to tell. (Not those logged through
        mltrace 0.17's API: its rules replace the store's.)"""
        if not self.pinned:
            return set()
        legacy = {self.ids[k] for k in self.legacy}
        edges = dict(zip(self.ids, self.edges, strict=True))
        return {
            rid for rid, name in self.pinned if rid not in legacy and any(n == name for _, _, n in edges[rid])
        }

    def needs_session(self) -> bool:
        return bool(self._recheck())

    def stale(self, session: Session | None) -> dict[int, list[str]]:
        """Staleness warnings by run, as :func:`queries.load_runs` gives them (same rules, same order);
        ``session``: for the runs that need queries (none when :meth:`needs_session` is false)."""
        from mltrace_core import queries, staleness

        stale: dict[int, list[str]] = {}
        ids, starts, ends = self.ids, self.starts, self.ends
        # An input produced 30 days before its reader: impossible in a shorter history.
        if ids and max(starts) - min(ends) > queries.STALE_AFTER:
            end_of = dict(zip(ids, ends, strict=True))
            for begin, found in zip(starts, self.edges, strict=True):
                for consumer, producer, name in found:
                    warning = queries._age_warning(name, begin - end_of[producer], producer)
                    if warning:
                        stale.setdefault(consumer, []).append(warning)
        recheck = self._recheck()
        if recheck and session is not None:
            stale.update(queries._dependencies_and_staleness(session, recheck)[1])
        for warnings in stale.values():
            warnings.sort()
        if self.legacy:  # runs logged through mltrace 0.17's API: its rules (staleness.messages)
            components, thresholds = self.columns[1], self.columns[_THRESHOLD]
            if self._legacy_quiet():  # no run of them has a message: replaced by none (C-level calls)
                deque(map(stale.pop, map(ids.__getitem__, self.legacy), repeat(None)), 0)
                return stale
            position = dict(zip(ids, range(len(ids)), strict=True))
            for k, counted in zip(self.legacy, self.fresher, strict=True):
                messages: list[str] = []
                if counted:
                    flat = counted.split(SEP)
                    begin, threshold = starts[k], thresholds[k]
                    # per edge: a producer read through two pointers comes twice, with one count
                    pairs = set(zip(map(int, flat[::2]), map(int, flat[1::2]), strict=True))
                    for dep, fresher in sorted(pairs):
                        seconds = (begin - starts[position[dep]]).total_seconds()
                        if seconds > threshold or fresher > 1:  # else judge() has nothing to say
                            messages += staleness.judge(
                                dep, components[position[dep]], seconds, threshold, fresher
                            )
                stale[ids[k]] = messages
        return stale

    def _legacy_quiet(self) -> bool:
        """Whether 0.17's rules have nothing to say of any run logged through its API, told at once for the
        whole trace (the common case: a lineage of runs closer together than their thresholds, each
        reading the latest run of its upstream components): no upstream run with a fresher run of its
        component, and the trace's whole time span within the smallest threshold (no upstream run can
        have started longer before its reader than that)."""
        counts = SEP.join(filter(None, self.fresher)).split(SEP)
        if max(map(int, counts[1::2]), default=0) > 1:
            return False
        smallest: int = min(map(self.columns[_THRESHOLD].__getitem__, self.legacy))
        return (max(self.starts) - min(self.starts)).total_seconds() <= smallest


def external_of(row: tuple[Any, ...]) -> ExternalIdentity | None:
    """The Airflow/OpenLineage identity in columns 8-16 of a run's row (the layout the trace and the
    fast reads share: id, component, start, end, status, notes, code version, error, identity...)."""
    if row[8] is None and row[10] is None and row[13] is None and row[14] is None:
        return None
    return ExternalIdentity(*row[8:17])


def _externals(columns: list[tuple[Any, ...]]) -> list[ExternalIdentity | None]:
    """:func:`external_of` of every row, from the columns. Most lineages have an identity on every run
    (each run gets an OpenLineage run id) or on none: both are told by C-level counts of the four
    columns that decide, and cost no Python per run; a mixed lineage is sorted out row by row."""
    n = len(columns[0])
    deciding = (columns[8], columns[10], columns[13], columns[14])
    nones = [c.count(None) for c in deciding]
    if nones == [n] * 4:
        return [None] * n
    identity = columns[8:17]
    if 0 in nones:  # every row has one
        return _identities(identity, n)
    found: list[ExternalIdentity | None] = [None] * n
    present = [k for k, row in enumerate(zip(*deciding, strict=True)) if row.count(None) < 4]
    made = _identities([[c[k] for k in present] for c in identity], len(present))
    for k, one in zip(present, made, strict=True):
        found[k] = one
    return found


def _identities(columns: Sequence[Sequence[Any]], n: int) -> list[ExternalIdentity | None]:
    """``n`` identities from their fields' columns (see :func:`_records`). Most columns of an identity
    are empty in a whole lineage (a run logged outside Airflow has only its OpenLineage run id): those
    stay the template's ``None``, at no cost per run."""
    kept = [(f, c) for f, c in zip(_EXTERNAL_FIELDS, columns, strict=True) if c.count(None) != n]
    fields = tuple(f for f, _ in kept)
    return _records(ExternalIdentity, _dicts(_EXTERNAL_TEMPLATE, fields, [c for _, c in kept], n))


def _dicts(
    template: dict[str, Any], fields: tuple[str, ...], columns: Sequence[Iterable[Any]], n: int
) -> list[dict[str, Any]]:
    """``n`` copies of ``template`` (every field of a record, in declaration order), each updated with
    ``fields`` from ``columns`` (one per field, ``n`` values each): a copy of a dict of the right size
    costs less than filling an empty one (which grows twice on the way), and the fields every record has
    alike are not set again. One field (an identity with only its OpenLineage run id, the common case)
    is set without a tuple per record."""
    dicts = list(map(dict.copy, repeat(template, n)))
    if len(fields) == 1:
        deque(map(dict.__setitem__, dicts, repeat(fields[0]), columns[0]), 0)
    else:
        deque(map(dict.update, dicts, map(zip, repeat(fields), zip(*columns, strict=True))), 0)
    return dicts


def _records(cls: type[R], dicts: list[dict[str, Any]]) -> list[Any]:
    """Instances of the frozen dataclass ``cls`` whose ``__dict__`` are ``dicts`` (see :func:`new_record`;
    ``object.__setattr__``, which the frozen class's own ``__setattr__`` does not stand in the way of)."""
    made = list(map(_new, repeat(cls, len(dicts))))
    deque(map(_set_attribute, made, repeat("__dict__"), dicts), 0)
    return made


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
    from it, for :func:`new_record`: the one place the fast reads build their records (a trace builds
    its records column by column, :func:`_trace`, in the order of :data:`RUN_FIELDS`)."""
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

# Every field of a Run and of an ExternalIdentity, in declaration order (tests/core/test_fasttrace.py
# checks them against the dataclasses).
RUN_FIELDS = (
    "id", "component", "start", "end", "status", "inputs", "outputs", "dependencies", "notes", "stale",
    "code_version", "error", "external", "git_hash", "git_tags", "code_snapshot", "upstream_components",
)  # fmt: skip
_EXTERNAL_FIELDS = (
    "dag_id", "run_id", "task_id", "try_number", "map_index", "url", "openlineage_run_id",
    "openlineage_namespace", "openlineage_parent_run_id",
)  # fmt: skip


def new_record(cls: type[R], fields: dict[str, Any]) -> R:
    """An instance of the frozen dataclass ``cls`` with ``fields`` (every field, in declaration order),
    its ``__dict__`` filled at once: the ``__init__`` of a frozen dataclass sets each field through
    ``object.__setattr__``, which costs more than the rest of a trace's record building. The same record
    (equal, hashable, ``replace()``-able)."""
    record = cls.__new__(cls)
    record.__dict__.update(fields)
    return record


_new = object.__new__
_set_attribute = object.__setattr__
_RUN_TEMPLATE = dict.fromkeys(RUN_FIELDS)  # the four code fields stay None in a trace (see run_fields)
_EXTERNAL_TEMPLATE = dict.fromkeys(_EXTERNAL_FIELDS)
_new_tuple = tuple.__new__  # a named tuple's own __new__ is a Python function: one call more per record


@uncollected
def trace(session: Session, start: int, output: str) -> Trace:
    """The whole upstream trace of run ``start`` (as :func:`lineage.walk` with no depth limit)."""
    walk = _Walk(_rows(session, start))
    return _trace(walk, walk.stale(session), output)


@uncollected
def trace_data(session: Session, start: int, output: str) -> dict[str, Any]:
    """``trace(session, start, output).to_dict()``, built from the rows without the records."""
    walk = _Walk(_rows(session, start))
    return _data(walk, walk.stale(session), output)


def _trace(walk: _Walk, stale: dict[int, list[str]], output: str) -> Trace:
    """The records, built by C-level calls over the columns (``map``, ``zip``): a 10,000-run trace calls
    no Python function per run. Each Run gets its ``__dict__`` filled at once (see :func:`new_record`)."""
    ids, columns = walk.ids, walk.columns
    n = len(ids)
    warnings = {rid: tuple(found) for rid, found in stale.items() if found}
    run_columns = (  # the first fields of a Run, in order; the four code fields stay the template's None
        ids,
        columns[1],
        walk.starts,
        walk.ends,
        columns[4],
        walk.inputs,
        walk.outputs,
        walk.producers,
        columns[5],
        map(warnings.get, ids, repeat(())),
        columns[6],
        columns[7],
        _externals(columns),
    )
    runs = _records(Run, _dicts(_RUN_TEMPLATE, RUN_FIELDS[: len(run_columns)], run_columns, n))
    order = walk.order
    by_id = dict(zip(ids, runs, strict=True))
    nodes = tuple(
        map(
            _new_tuple,
            repeat(TraceNode),
            zip(map(walk.depth.__getitem__, order), map(by_id.__getitem__, order), strict=True),
        )
    )
    edges_of = dict(zip(ids, walk.edges, strict=True))
    edges = tuple(chain.from_iterable(map(edges_of.__getitem__, order)))
    return Trace(output=output, nodes=nodes, edges=edges)


def _data(walk: _Walk, stale: dict[int, list[str]], output: str) -> dict[str, Any]:
    columns, depth = walk.columns, walk.depth
    position = dict(zip(walk.ids, range(len(walk.ids)), strict=True))
    externals = _externals(columns)
    nodes = []
    edges: list[dict[str, Any]] = []
    for rid in walk.order:
        k = position[rid]
        begin, end, external = walk.starts[k], walk.ends[k], externals[k]
        nodes.append(
            {
                "id": rid,
                "component": columns[1][k],
                "start": begin.isoformat(),
                "end": end.isoformat(),
                "duration": (end - begin).total_seconds(),
                "status": columns[4][k],
                "inputs": list(walk.inputs[k]),
                "outputs": list(walk.outputs[k]),
                "dependencies": list(walk.producers[k]),
                "notes": columns[5][k],
                "stale": stale.get(rid, []),
                "code_version": columns[6][k],
                "error": columns[7][k],
                "external": external.to_dict() if external else None,
                "depth": depth[rid],
            }
        )
        edges += [{"from": c, "to": p, "via": n} for c, p, n in walk.edges[k]]
    return {"output": output, "direction": "upstream", "nodes": nodes, "edges": edges, "truncated": False}
