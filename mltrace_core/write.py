"""Logging one run: a single transaction that writes the run, its inputs and outputs, and its lineage.

The lineage rule (ARCHITECTURE.md): a run R that reads pointer P depends on the run W that wrote P
with the latest end time at or before R started. If R read a version and W wrote one, W must have
written exactly that version. A run whose end equals R's start counts unless both have the same start
and W was logged after R (only zero-length runs at one instant can tie like that); this keeps the graph
acyclic even when a step reads its own previous output.

Edges are materialised here, in both directions of time: a new run links to its producers, and a run
logged late (replayed after an outage) takes over the consumers that started after it ended.

A run written again (same key) is another report of the same run -- a spool replay, the listener after a
traced operator, an OpenLineage event for a try a traced operator wrote, a SQL query folding into its
task -- and is merged into it (:func:`merge_run`): the run gains the inputs and outputs it lacked, and
their lineage follows the same rule as a late-logged run's; an earlier start moves its start back. A
terminal status (success, failed, aborted) is never overwritten, and a failed or aborted run never gains
outputs. A ``running`` run is a placeholder (an OpenLineage run in progress): the first report of its
end completes it.

Concurrency: SQLite writers are serialised by ``BEGIN IMMEDIATE``. On PostgreSQL the rows of every
pointer the run touches are locked, in id order (no deadlocks), before lineage is computed, so a reader
of P and a writer of P never both miss each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Column, Select, Table, and_, bindparam, delete, select, text, update
from sqlalchemy.orm import Session

from mltrace_core import reach, rule
from mltrace_core.formats import ABORTED, FAILED, RUNNING
from mltrace_core.models import (
    UTCDateTime,
    component_tags,
    components,
    pointers,
    run_dependencies,
    run_inputs,
    run_outputs,
    run_tests,
    runs,
    utcnow,
)
from mltrace_core.records import ExternalIdentity
from mltrace_core.runs import RunRecord

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PgInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert

PointerRow = tuple[str, str | None, str | None]  # (name, version, type), as a RunRecord holds them


@cache
def _statements(dialect: str) -> SimpleNamespace:
    """The write statements, built once per backend so SQLAlchemy compiles each only once."""
    insert: Callable[[Table], PgInsert | SqliteInsert]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    upsert_edge = insert(run_dependencies)
    return SimpleNamespace(
        component=insert(components).on_conflict_do_nothing(index_elements=["name"]),
        # RETURNING on the many-row inserts: SQLAlchemy then sends a list of rows as multi-row INSERTs
        # ("insertmanyvalues"); without it psycopg2 sends an ON CONFLICT insert row by row, a round trip each.
        tag=insert(component_tags).on_conflict_do_nothing().returning(component_tags.c.tag),
        pointer=insert(pointers).on_conflict_do_nothing(index_elements=["name"]).returning(pointers.c.id),
        run=insert(runs).on_conflict_do_nothing(index_elements=["key"]).returning(runs.c.id),
        edge=upsert_edge.on_conflict_do_update(
            index_elements=["consumer_run_id", "pointer_id"],
            set_={"producer_run_id": upsert_edge.excluded.producer_run_id},
        ),
    )


def _sql(session: Session) -> SimpleNamespace:
    return _statements(session.get_bind().dialect.name)


_COMPONENT_ID = select(components.c.id).where(components.c.name == bindparam("name"))
_RUN_BY_KEY = select(runs.c.id).where(runs.c.key == bindparam("key"))


def component_id(
    session: Session, name: str, description: str = "", owner: str = "", tags: tuple[str, ...] = ()
) -> int:
    """The id of component ``name``, created if missing (concurrent creators agree on one row)."""
    conn = session.connection()
    cid = conn.execute(_COMPONENT_ID, {"name": name}).scalar()
    if cid is None:
        conn.execute(_sql(session).component, {"name": name, "description": description, "owner": owner})
        cid = conn.execute(_COMPONENT_ID, {"name": name}).scalar_one()
    if tags:
        add_tags(session, cid, tags)
    return cast(int, cid)


def add_tags(session: Session, cid: int, tags: tuple[str, ...]) -> None:
    session.connection().execute(
        _sql(session).tag, [{"component_id": cid, "tag": t} for t in sorted(set(tags))]
    )


def pointer_ids(session: Session, rows: Iterable[PointerRow], lock: bool = False) -> dict[str, int]:
    """Ids for (name, version, type) rows, creating missing pointers; ``lock`` takes their row locks
    (PostgreSQL; SQLite already holds the database write lock). Locks are taken in name order by every
    writer, so writers touching the same pointers queue up and never deadlock."""
    types = {name: ptype for name, _v, ptype in rows}
    names = sorted(types)
    if not names:
        return {}
    conn = session.connection()
    query = select(pointers.c.name, pointers.c.id).where(
        pointers.c.name.in_(bindparam("names", expanding=True))
    )
    postgres = conn.dialect.name == "postgresql"
    if not postgres:
        found = dict(conn.execute(query, {"names": names}).all())
        names = [n for n in names if n not in found]
        if not names:
            return found
    conn.execute(_sql(session).pointer, [{"name": n, "type": types[n], "flagged": False} for n in names])
    if lock and postgres:
        query = query.order_by(pointers.c.name).with_for_update()
    return dict(conn.execute(query, {"names": sorted(types)}).all())


def write_run(session: Session, rec: RunRecord) -> int:
    """Write ``rec`` and its lineage; return its id. Writing the same key again returns the first id."""
    conn = session.connection()
    cid = component_id(session, rec.component, tags=rec.component_tags)
    ids = pointer_ids(session, rec.inputs + rec.outputs, lock=True)
    run_id = conn.execute(_sql(session).run, run_row(rec, cid, utcnow())).scalar()
    if run_id is None:  # this run was logged before (a replay, a retry, listener + operator, OpenLineage)
        return merge_run(session, rec, ids)
    if rec.tests:
        conn.execute(
            run_tests.insert(),
            [
                {
                    "run_id": run_id,
                    "position": i,
                    "phase": t.phase,
                    "name": t.name,
                    "passed": t.passed,
                    "message": t.message,
                }
                for i, t in enumerate(rec.tests)
            ],
        )
    if rec.inputs:
        conn.execute(
            run_inputs.insert(),
            [
                {"run_id": run_id, "pointer_id": ids[n], "version": v, "start_ts": rec.start}
                for n, v, _ in rec.inputs
            ],
        )
        conn.execute(_LINK_PRODUCERS, {"rid": run_id, "start": rec.start})
    if rec.outputs:
        conn.execute(
            run_outputs.insert(),
            [
                {
                    "run_id": run_id,
                    "pointer_id": ids[n],
                    "version": v,
                    "start_ts": rec.start,
                    "end_ts": rec.end,
                }
                for n, v, _ in rec.outputs
            ],
        )
        _relink_consumers(session, run_id, rec.start, rec.end)
    reach.after_write(session, [run_id])  # its relinked consumers are downstream of it
    return cast(int, run_id)


_LINK_PRODUCERS = text(
    f"""
    INSERT INTO run_dependencies (consumer_run_id, pointer_id, producer_run_id)
    SELECT consumer, pointer_id, producer FROM (
        SELECT i.run_id AS consumer, i.pointer_id AS pointer_id, {rule.producer("i", ":start", ":rid")} AS producer
        FROM run_inputs i WHERE i.run_id = :rid
    ) AS linked
    WHERE producer IS NOT NULL
    """
).bindparams(bindparam("start", type_=UTCDateTime()))


def _late_candidates() -> Select[Any]:
    """Consumers that started at or after the new run (``:rid``) ended and read one of its outputs,
    with the producer they are linked to now."""
    o, i = run_outputs.alias("o"), run_inputs.alias("i")
    d, co = run_dependencies.alias("d"), run_outputs.alias("co")
    joined = (
        o.join(
            i, and_(i.c.pointer_id == o.c.pointer_id, i.c.start_ts >= o.c.end_ts, i.c.run_id != o.c.run_id)
        )
        .outerjoin(d, and_(d.c.consumer_run_id == i.c.run_id, d.c.pointer_id == i.c.pointer_id))
        .outerjoin(co, and_(co.c.run_id == d.c.producer_run_id, co.c.pointer_id == d.c.pointer_id))
    )
    return (
        select(i.c.run_id, i.c.pointer_id, i.c.version, i.c.start_ts, o.c.version)
        .add_columns(d.c.producer_run_id, co.c.version, co.c.end_ts)
        .select_from(joined)
        .where(o.c.run_id == bindparam("rid"))
    )


_LATE_CANDIDATES = _late_candidates()


def _relink_consumers(session: Session, run_id: int, start: datetime, end: datetime) -> None:
    """A run logged late takes its place: consumers that started after it ended and read what it wrote
    now depend on it, if it is a better producer than the one they were linked to."""
    updates = []
    conn = session.connection()
    for consumer, pointer_id, read_v, c_start, w_v, cur, cur_v, cur_end in conn.execute(
        _LATE_CANDIDATES, {"rid": run_id}
    ):
        if not _eligible(start, end, run_id, c_start, consumer):
            continue
        if read_v is not None and w_v is not None and w_v != read_v:
            continue
        if cur is not None and _rank(read_v, cur_v, cur_end, cur) >= _rank(read_v, w_v, end, run_id):
            continue
        updates.append({"consumer_run_id": consumer, "pointer_id": pointer_id, "producer_run_id": run_id})
    if updates:
        conn.execute(_sql(session).edge, updates)


def _eligible(
    start: datetime, end: datetime, run_id: int, consumer_start: datetime, consumer_id: int
) -> bool:
    return end <= consumer_start and (end < consumer_start or start < consumer_start or run_id < consumer_id)


def _rank(
    read_version: str | None, written_version: str | None, end: datetime, run_id: int
) -> tuple[bool, datetime, int]:
    """Order of preference among producers: the exact version read, then the latest end, then log order."""
    return (read_version is not None and written_version == read_version, end, run_id)


# -- another report of a run already written --------------------------------------------------------------
_EXTRA_COLUMNS = (
    "notes",
    "code_version",
    "error",
    "ext_dag_id",
    "ext_run_id",
    "ext_task_id",
    "ext_try_number",
    "ext_map_index",
    "ext_url",
    "ext_ol_run_id",
    "ext_ol_namespace",
    "ext_ol_parent_run_id",
    "git_hash",
    "git_tags",
    "code_snapshot",
    "staleness_threshold",
)


def run_row(rec: RunRecord, cid: int, logged_at: datetime) -> dict[str, Any]:
    """The ``component_runs`` row of a new run (every write path inserts this one)."""
    return {
        **_columns(rec),
        "key": rec.key,
        "component_id": cid,
        "start_ts": rec.start,
        "end_ts": rec.end,
        "status": rec.status,
        "notes": rec.notes,
        "logged_at": logged_at,
    }


def _columns(rec: RunRecord) -> dict[str, Any]:
    """The run row's descriptive columns (what a later report may fill in when the first left them empty)."""
    ext = rec.external or ExternalIdentity()
    return {
        "notes": rec.notes or None,
        "code_version": rec.code_version,
        "error": rec.error,
        "ext_dag_id": ext.dag_id,
        "ext_run_id": ext.run_id,
        "ext_task_id": ext.task_id,
        "ext_try_number": ext.try_number,
        "ext_map_index": ext.map_index,
        "ext_url": ext.url,
        "ext_ol_run_id": ext.openlineage_run_id,
        "ext_ol_namespace": ext.openlineage_namespace,
        "ext_ol_parent_run_id": ext.openlineage_parent_run_id,
        "git_hash": rec.git_hash,
        "git_tags": None if rec.git_tags is None else list(rec.git_tags),
        "code_snapshot": rec.code_snapshot,
        "staleness_threshold": rec.staleness_threshold,
    }


def merge_run(session: Session, rec: RunRecord, ids: dict[str, int] | None = None) -> int:
    """Merge ``rec`` into the run already written with its key; return that run's id.

    - A ``running`` placeholder that ``rec`` reports ended takes ``rec``'s status, end, error and what
      else ``rec`` says of it.
    - Otherwise the status and end are kept (a terminal state is never overwritten) and the start moves
      back if ``rec`` started earlier.
    - The run gains the inputs and outputs it lacked (outputs only while it is not failed or aborted),
      and a version where it had none; columns it left empty are filled in.
    - Lineage of what changed follows the rule of a late-logged run (the module docstring)."""
    conn = session.connection()
    query = select(runs.c.id, runs.c.status, runs.c.start_ts, runs.c.end_ts, *_extra_cols()).where(
        runs.c.key == rec.key
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).one()
    run_id, status, start, end = row[0], row[1], row[2], row[3]
    current = dict(zip(_EXTRA_COLUMNS, row[4:], strict=True))
    ends_now = status == RUNNING and rec.status != RUNNING
    # The report of its end describes a placeholder's run; later reports only fill in what is missing.
    changes = {
        k: v
        for k, v in _columns(rec).items()
        if v not in (None, "") and (ends_now or current[k] in (None, "")) and v != current[k]
    }
    new_start, new_end = min(start, rec.start), end
    if ends_now:
        changes["status"], status = rec.status, rec.status
        new_end = max(rec.end, new_start)
        if rec.error:
            changes["error"] = rec.error
    elif status == RUNNING:
        new_end = max(end, rec.end)  # still in progress: it has run at least until this report
    if new_start != start:
        changes["start_ts"] = new_start
    if new_end != end:
        changes["end_ts"] = new_end
    if changes:
        conn.execute(update(runs).where(runs.c.id == run_id).values(**changes))
    outputs = () if status in (FAILED, ABORTED) else rec.outputs
    if ids is None:
        ids = pointer_ids(session, rec.inputs + outputs, lock=True)
    relinked = _merge_pointers(session, run_id, new_start, new_end, (start, end), rec.inputs, outputs, ids)
    reach.after_write(session, [run_id], relinked)
    return cast(int, run_id)


def _extra_cols() -> list[Column[Any]]:
    return [runs.c[name] for name in _EXTRA_COLUMNS]


def _merge_pointers(
    session: Session,
    run_id: int,
    start: datetime,
    end: datetime,
    before: tuple[datetime, datetime],
    inputs: tuple[PointerRow, ...],
    outputs: tuple[PointerRow, ...],
    ids: dict[str, int],
) -> set[int]:
    """Add ``inputs``/``outputs`` the run lacks (or the version it lacked) and bring its lineage up to
    date: its own input edges are recomputed when its inputs or start changed; consumers of its outputs
    are relinked as for a late-logged run, or recomputed for a pointer whose written version changed or
    when its end moved (a consumer may no longer be entitled to it). The pointers recomputed so."""
    conn = session.connection()
    moved = (start, end) != before
    have_in: dict[int, str | None] = {}
    have_out: dict[int, str | None] = {}
    for side, pid, version in conn.execute(_POINTERS_OF_RUN, {"rid": run_id}):
        (have_out if side else have_in)[pid] = version
    new_in = [(ids[n], v) for n, v, _ in inputs if ids[n] not in have_in]
    versioned_in = [(ids[n], v) for n, v, _ in inputs if v is not None and have_in.get(ids[n], v) is None]
    new_out = [(ids[n], v) for n, v, _ in outputs if ids[n] not in have_out]
    versioned_out = [(ids[n], v) for n, v, _ in outputs if v is not None and have_out.get(ids[n], v) is None]
    if moved and have_in:
        conn.execute(update(run_inputs).where(run_inputs.c.run_id == run_id).values(start_ts=start))
    if moved and have_out:
        conn.execute(
            update(run_outputs).where(run_outputs.c.run_id == run_id).values(start_ts=start, end_ts=end)
        )
    for pid, version in versioned_in:
        conn.execute(
            update(run_inputs)
            .where(run_inputs.c.run_id == run_id, run_inputs.c.pointer_id == pid)
            .values(version=version)
        )
    if new_in:
        conn.execute(
            run_inputs.insert(),
            [{"run_id": run_id, "pointer_id": p, "version": v, "start_ts": start} for p, v in new_in],
        )
    if (new_in or versioned_in or moved) and (new_in or have_in):
        if have_in:  # a run without inputs yet (a placeholder that ends) has no edges to drop
            conn.execute(delete(run_dependencies).where(run_dependencies.c.consumer_run_id == run_id))
        conn.execute(_LINK_PRODUCERS, {"rid": run_id, "start": start})
    for pid, version in versioned_out:
        conn.execute(
            update(run_outputs)
            .where(run_outputs.c.run_id == run_id, run_outputs.c.pointer_id == pid)
            .values(version=version)
        )
    if new_out:
        conn.execute(
            run_outputs.insert(),
            [
                {"run_id": run_id, "pointer_id": p, "version": v, "start_ts": start, "end_ts": end}
                for p, v in new_out
            ],
        )
    recompute = {p for p, _ in versioned_out}
    if moved and end != before[1]:
        recompute |= set(have_out)  # its end moved: who it produced for is decided again
    if recompute:
        relink_pointers(session, sorted(recompute))
    if new_out or (moved and have_out):
        _relink_consumers(session, run_id, start, end)
    return recompute


# A run's pointers, both sides at once: (0 = input | 1 = output, pointer id, version).
_POINTERS_OF_RUN = text(
    "SELECT 0, pointer_id, version FROM run_inputs WHERE run_id = :rid "
    "UNION ALL SELECT 1, pointer_id, version FROM run_outputs WHERE run_id = :rid"
)


# Every reader of :pid linked from scratch by the lineage rule (the same rule as _LINK_PRODUCERS, with the
# reader's own start and id in place of the new run's).
_LINK_READERS = text(
    f"""
    INSERT INTO run_dependencies (consumer_run_id, pointer_id, producer_run_id)
    SELECT consumer, pointer_id, producer FROM (
        SELECT i.run_id AS consumer, i.pointer_id AS pointer_id, {rule.producer("i", "i.start_ts", "i.run_id")} AS producer
        FROM run_inputs i WHERE i.pointer_id = :pid
    ) AS linked
    WHERE producer IS NOT NULL
    """
)


def relink_pointers(session: Session, pointer_ids: list[int]) -> None:
    """Recompute every lineage edge through these pointers from scratch (the rare case where a writer's
    version or end changed after consumers were linked to it). Cost: the pointers' readers."""
    conn = session.connection()
    for pid in pointer_ids:
        conn.execute(delete(run_dependencies).where(run_dependencies.c.pointer_id == pid))
        conn.execute(_LINK_READERS, {"pid": pid})
