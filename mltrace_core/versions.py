"""The versions of a pointer, the versions runs read and wrote, and a component's run before another.

Every write of a pointer is a row of ``run_outputs``: listing them newest first is a backward range scan
of the (pointer, end time, run) index, and counting each write's readers is one probe per row of the
(producer, pointer) index of the lineage edges. So ``versions`` costs what its answer holds, whatever
the store's size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy import String, and_, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from mltrace_core.errors import NotFoundError
from mltrace_core.lineage import pointer_id
from mltrace_core.models import pointers, run_dependencies, run_inputs, run_outputs, runs
from mltrace_core.queries import dialect_of, id_in, ids_text, load_runs
from mltrace_core.records import PointerVersion, Run

VersionMap = dict[str, "str | None"]


def versions(session: Session, name: str, limit: int | None = None) -> list[PointerVersion]:
    """Every write of pointer ``name``, newest first (end time, then run id): one row per write, so a
    version written twice is two rows. ``readers``: the runs whose lineage edge for ``name`` leads to
    that row's run."""
    pid = pointer_id(session, name)
    d, o = run_dependencies, run_outputs
    readers = (
        select(func.count()).where(d.c.producer_run_id == o.c.run_id, d.c.pointer_id == pid).scalar_subquery()
    )
    sqlite = dialect_of(session) == "sqlite"
    # SQLite keeps times as ISO text: parsed here by fromisoformat, 10x faster than the generic processor.
    end = type_coerce(o.c.end_ts, String) if sqlite else o.c.end_ts
    query = (
        select(o.c.version, o.c.run_id, end, runs.c.status, readers)
        .join(runs, runs.c.id == o.c.run_id)
        .where(o.c.pointer_id == pid)
        .order_by(o.c.end_ts.desc(), o.c.run_id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    rows = session.execute(query).all()  # fetched at once: row by row costs more than the query
    if sqlite:
        return [PointerVersion(v, r, _utc(e), s, n) for v, r, e, s, n in rows]
    return [PointerVersion(*row) for row in rows]


def _utc(text: str) -> datetime:
    """A time SQLite keeps as text, as an aware UTC datetime: naive text is UTC. Parsing it with its zone
    appended is several times faster than ``.replace(tzinfo=...)`` on what ``fromisoformat`` returns."""
    if text[-1] == "Z" or text[-6] in "+-":
        parsed = datetime.fromisoformat(text)
        return parsed.astimezone(timezone.utc)
    return datetime.fromisoformat(text + "+00:00")


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
