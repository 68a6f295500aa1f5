"""The versions of a pointer, the versions runs read and wrote, and a component's run before another.

Every write of a pointer is a row of ``run_outputs``: listing them newest first is a backward range scan
of the (pointer, end time, run) index, and each row's status and readers are one probe each (the runs'
primary key; the (producer, pointer) index of the lineage edges), in the same statement, for the rows of
the page asked for only. So ``versions`` costs what its answer holds, whatever the store's size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timezone
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_, select, tuple_
from sqlalchemy.orm import Session

from mltrace_core.errors import NotFoundError
from mltrace_core.lineage import pointer_id
from mltrace_core.models import pointers, run_dependencies, run_inputs, run_outputs, runs
from mltrace_core.queries import dialect_of, id_in, ids_text, load_runs, plain_rows, utc
from mltrace_core.records import PointerVersion, Run

VersionMap = dict[str, "str | None"]


def versions(
    session: Session, name: str, limit: int | None = None, start: int | None = None
) -> list[PointerVersion]:
    """Every write of pointer ``name``, newest first (end time, then run id): one row per write, so a
    version written twice is two rows. ``readers``: the runs whose lineage edge for ``name`` leads to
    that row's run. ``limit``: the newest that many; ``start``: from run ``start``'s write of ``name`` on
    (older writes only, it included), for a page further down (keyset paging: as cheap as the first)."""
    pid = pointer_id(session, name)
    params: dict[str, object] = {"pid": pid, "n": limit, "start": start}
    rows = plain_rows(session, _statement(limit is not None, start is not None), params)
    if start is not None and not rows:
        raise NotFoundError(f"run {start} did not write {name!r}")
    if dialect_of(session) == "sqlite":
        return [PointerVersion(v, r, _utc(e), s, n) for v, r, e, s, n in rows]
    return [PointerVersion(v, r, utc(e), s, n) for v, r, e, s, n in rows]


@cache
def _statement(limited: bool, paged: bool) -> Select[Any]:
    """One statement, paged in SQL: a backward range scan of the (pointer, end time, run) index, and for
    each row it keeps, two index probes: its run's status (a scalar subquery, so no planner may prefer
    a scan of every run to 10,000 probes) and its readers (the (producer, pointer) index of the edges).
    A page costs what it holds, whatever the store's size or the pointer's number of versions."""
    o, d = run_outputs, run_dependencies
    status = select(runs.c.status).where(runs.c.id == o.c.run_id).scalar_subquery()
    readers = (
        select(func.count())
        .select_from(d)
        .where(d.c.producer_run_id == o.c.run_id, d.c.pointer_id == o.c.pointer_id)
        .scalar_subquery()
    )
    query = (
        select(o.c.version, o.c.run_id, o.c.end_ts, status, readers)
        .where(o.c.pointer_id == bindparam("pid"))
        .order_by(o.c.end_ts.desc(), o.c.run_id.desc())
    )
    if paged:
        here = o.alias("here")
        end = select(here.c.end_ts).where(
            here.c.pointer_id == bindparam("pid"), here.c.run_id == bindparam("start")
        )
        # A row comparison: both backends bound the index range scan by it (an OR of the two cases
        # would be a filter on a scan from the newest write down).
        query = query.where(
            tuple_(o.c.end_ts, o.c.run_id) <= tuple_(end.scalar_subquery(), bindparam("start"))
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
