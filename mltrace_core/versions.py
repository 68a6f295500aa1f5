"""The versions of a pointer, the versions runs read and wrote, and a component's run before another.

Every write of a pointer is a row of ``run_outputs``, with its run's status (a copy the database keeps,
schema 0013): listing them newest first is a backward range scan of the (pointer, end time, run) index,
and each row's readers one probe of the (producer, pointer) index of the lineage edges, in the same
statement, for the rows of the page asked for only. So ``versions`` costs what its answer holds,
whatever the store's size. The whole list on PostgreSQL counts the readers of all the writes in one
range scan of the pointer's edges instead (the (pointer, producer) index, schema 0012). The per-row
probes of the runs (status) and of the edges (readers) were two thirds of the statement.

On PostgreSQL the end times come back as UTC text, which ``datetime.fromisoformat`` parses several times
faster than psycopg2 builds a zone-aware timestamp, and the records are built without a Python call per
row: for all 10,000 writes of a pointer, the client's part was half the call.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from functools import cache
from itertools import repeat
from operator import add, itemgetter
from typing import Any, cast

from sqlalchemy import Select, Text, and_, bindparam, func, literal_column, or_, select, tuple_
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from mltrace_core.errors import NotFoundError
from mltrace_core.fasttrace import uncollected
from mltrace_core.lineage import pointer_id
from mltrace_core.models import pointers, run_dependencies, run_inputs, run_outputs, runs
from mltrace_core.queries import TEXT_TIMES, dialect_of, id_in, ids_text, load_runs, plain_rows, utc
from mltrace_core.records import PointerVersion, Run

VersionMap = dict[str, "str | None"]


@uncollected
def versions(
    session: Session,
    name: str,
    limit: int | None = None,
    start: int | None = None,
    text_times: bool = TEXT_TIMES,
) -> list[PointerVersion]:
    """Every write of pointer ``name``, newest first (end time, then run id): one row per write, so a
    version written twice is two rows. ``readers``: the runs whose lineage edge for ``name`` leads to
    that row's run. ``limit``: the newest that many; ``start``: from run ``start``'s write of ``name`` on
    (older writes only, it included), for a page further down (keyset paging: as cheap as the first).
    ``text_times=False``: PostgreSQL's end times typed by the driver, the general form (Python 3.10's;
    the tests and the bench compare the two). The collector is paused meanwhile
    (:func:`fasttrace.uncollected`): 10,000 records allocate what starts a dozen collections, none of
    which finds garbage."""
    pid = pointer_id(session, name)
    params: dict[str, object] = {"pid": pid, "n": limit, "start": start}
    limited, paged = limit is not None, start is not None
    dialect = dialect_of(session)
    grouped = dialect == "postgresql" and not limited
    if dialect == "postgresql" and text_times:
        found = _from_text(plain_rows(session, _statement(limited, paged, True, grouped), params))
    else:
        rows = plain_rows(session, _statement(limited, paged, False, grouped), params)
        if dialect == "sqlite":
            found = [PointerVersion(v, r, _utc(e), s, n) for v, r, e, s, n in rows]
        else:
            found = [PointerVersion(v, r, utc(e), s, n) for v, r, e, s, n in rows]
    if start is not None and not found:
        raise NotFoundError(f"run {start} did not write {name!r}")
    return found


def _from_text(rows: list[tuple[Any, ...]]) -> list[PointerVersion]:
    """The records of rows whose end time is PostgreSQL's UTC text, built by C loops only: each column
    read by ``map(itemgetter(i), rows)``, the times parsed by ``map(fromisoformat, ...)`` and each record
    made by ``tuple.__new__`` (what ``PointerVersion._make`` does), without a Python call per row.
    (``zip(*rows)`` would allocate an iterator per row, which costs garbage collections in a process
    holding many objects, as a web server does.) The text is ISO (psycopg2 reads no other DateStyle
    either), with 1-6 digits of a second: Python 3.11 reads it."""

    def column(i: int) -> Iterator[Any]:
        return map(itemgetter(i), rows)

    times = map(datetime.fromisoformat, map(add, column(2), repeat("+00:00")))
    records = zip(column(0), column(1), times, column(3), column(4), strict=True)
    return cast("list[PointerVersion]", list(map(tuple.__new__, repeat(PointerVersion), records)))


@cache
def _statement(limited: bool, paged: bool, text_end: bool = False, grouped: bool = False) -> Select[Any]:
    """One statement, paged in SQL: a backward range scan of the (pointer, end time, run) index, the
    status read with the write, and for each row it keeps its readers by one probe of the edges'
    (producer, pointer) index (a scalar subquery, so no planner may prefer a scan of every edge):
    a page costs what it holds, whatever the pointer's history or the store's size.
    ``grouped`` (PostgreSQL, the whole list): the readers of every write by one range scan of the
    pointer's edges in the (pointer, producer) index, counted per producer and hash-joined to the writes,
    where the probes cost as much as the rest of the statement. (SQLite has no hash join: there the
    grouped counts are a temporary index probed per write, slower than the probes, so it keeps them.)
    ``text_end`` (PostgreSQL): the end time as the text of its UTC time, whatever the session's zone."""
    o, d = run_outputs, run_dependencies
    utc_end = func.timezone(literal_column("'UTC'"), o.c.end_ts)  # AT TIME ZONE 'UTC'
    end = sql_cast(utc_end, Text) if text_end else o.c.end_ts
    if not grouped:
        readers: Any = (
            select(func.count())
            .select_from(d)
            .where(d.c.producer_run_id == o.c.run_id, d.c.pointer_id == o.c.pointer_id)
            .scalar_subquery()
        )
        writes: Any = o
    else:
        counts = (
            select(d.c.producer_run_id, func.count().label("n"))
            .where(d.c.pointer_id == bindparam("pid"))
            .group_by(d.c.producer_run_id)
            .subquery("counts")
        )
        readers = func.coalesce(counts.c.n, literal_column("0"))
        writes = o.outerjoin(counts, counts.c.producer_run_id == o.c.run_id)
    query = (
        select(o.c.version, o.c.run_id, end, o.c.status, readers)
        .select_from(writes)
        .where(o.c.pointer_id == bindparam("pid"))
        .order_by(o.c.end_ts.desc(), o.c.run_id.desc())
    )
    if paged:
        here = o.alias("here")
        start = select(here.c.end_ts).where(
            here.c.pointer_id == bindparam("pid"), here.c.run_id == bindparam("start")
        )
        # A row comparison: both backends bound the index range scan by it (an OR of the two cases
        # would be a filter on a scan from the newest write down).
        query = query.where(
            tuple_(o.c.end_ts, o.c.run_id) <= tuple_(start.scalar_subquery(), bindparam("start"))
        )
    return query.limit(bindparam("n")) if limited else query


def _utc(text: str) -> datetime:
    """A time SQLite keeps as text, as an aware UTC datetime: naive text is UTC. Parsing it with its zone
    appended is several times faster than ``.replace(tzinfo=...)`` on what ``fromisoformat`` returns."""
    if text[-1] == "Z":  # Python 3.10's fromisoformat takes no Z
        text = text[:-1] + "+00:00"
    elif text[-6] not in "+-":
        return datetime.fromisoformat(text + "+00:00")
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def pointer_versions(session: Session, ids: Iterable[int]) -> dict[int, tuple[VersionMap, VersionMap]]:
    """For each run, the versions it read and wrote: ``{pointer: version or None}``, inputs then
    outputs. Two queries whatever the number of runs."""
    ids = list(ids)
    found: dict[int, tuple[VersionMap, VersionMap]] = defaultdict(lambda: ({}, {}))
    if not ids:
        return {}
    dialect = dialect_of(session)
    for side, table in enumerate((run_inputs, run_outputs)):
        query = (
            select(table.c.run_id, pointers.c.name, table.c.version)
            .join(pointers, pointers.c.id == table.c.pointer_id)
            .where(id_in(dialect, table.c.run_id))
        )
        for run_id, name, version in session.execute(query, {"ids": ids_text(session, ids)}):
            found[run_id][side][name] = version
    return {i: (dict(sorted(found[i][0].items())), dict(sorted(found[i][1].items()))) for i in ids}


def previous_run(session: Session, run_id: int) -> Run | None:
    """The run of the same component that started just before ``run_id`` (start time, then id): what
    "compare with the previous run" compares with. One probe of the (component, start, id) index."""
    row = session.execute(select(runs.c.component_id, runs.c.start_ts).where(runs.c.id == run_id)).first()
    if row is None:
        raise NotFoundError(f"no run with id {run_id}")
    component, start = row
    found = session.execute(
        select(runs.c.id)
        .where(
            runs.c.component_id == component,
            or_(runs.c.start_ts < start, and_(runs.c.start_ts == start, runs.c.id < run_id)),
        )
        .order_by(runs.c.start_ts.desc(), runs.c.id.desc())
        .limit(1)
    ).scalar()
    return None if found is None else load_runs(session, [found])[found]
