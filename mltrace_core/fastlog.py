"""The hot path of ``Store.log``: a new run written with the least client work the backend allows.

The common case -- a run whose key is new -- is the one every traced task try and every logged run of
plain Python takes, so it skips the ORM session, SQLAlchemy's statement machinery and its pool, and
speaks to the driver on a connection the calling thread keeps (:class:`mltrace_core.db.HeldConnections`:
the caller's own thread for SQLite, one of the store's long-lived workers for PostgreSQL):

- PostgreSQL: one call of the server-side function ``mltrace_log_run`` (schemas 0008, 0010), autocommit:
  one round trip, committed durably on return; the function's plans are prepared once per connection.
- SQLite: the same statements as :func:`write.write_run`, prepared (sqlite3's statement cache) inside one
  ``BEGIN IMMEDIATE`` ... ``COMMIT``.

The lineage rule and the late-arrival relink are the ones of :mod:`mltrace_core.write`, written as
single statements. A run that carries a staleness threshold (logged through mltrace 0.17's API) comes
back with 0.17's staleness messages, judged from what the same write found upstream (:mod:`.staleness`),
so the warning 0.17 gave needs no second read. Anything else -- a key already written (a merge), a run with test results -- returns
``None`` having written nothing, and the store takes the general path. Driver errors are raised as
SQLAlchemy's ``DBAPIError`` (what the store translates and retries), a failed connection closed (its
thread opens another) and, on a disconnect, every held connection and the pool given up.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine

from mltrace_core import db, reach, rule, staleness
from mltrace_core.records import ExternalIdentity
from mltrace_core.runs import RunRecord

Logged = tuple[int, tuple[str, ...]]  # the new run's id, and its staleness messages (0.17's rules)

# The placeholders of log_run_args(), for mltrace_log_run and the functions that pass them on to it.
LOG_RUN_PARAMS = (
    "%s, %s, %s::text[], %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
    " %s, %s, %s::json, %s, %s, %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[]"
)
_PG_CALL = f"SELECT o_run_id, o_upstream FROM mltrace_log_run({LOG_RUN_PARAMS})"


def log(engine: Engine, rec: RunRecord) -> Logged | None:
    """Write ``rec`` if it is a new run without test results: its id and staleness messages (none unless
    it carries a threshold); else ``None`` (nothing written)."""
    if rec.tests:
        return None
    postgres = engine.dialect.name == "postgresql"
    held = db.held_connections(engine)
    conn = held.take(engine, "mltrace fast log")
    try:
        return _log_pg(conn, rec) if postgres else _log_sqlite(conn, rec)
    except (sqlite3.Error, engine.dialect.loaded_dbapi.Error) as exc:
        _rollback(conn, postgres)
        raise db.held_error(engine, held, conn, exc, "mltrace fast log") from exc


def _rollback(conn: Any, postgres: bool) -> None:
    if not postgres:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # no transaction open (BEGIN itself failed), or the connection is gone


def _pointer_args(rec: RunRecord) -> tuple[list[str], list[str | None]]:
    types = {name: ptype for name, _v, ptype in rec.inputs + rec.outputs}
    names = sorted(types)
    return names, [types[n] for n in names]


def _details(rec: RunRecord) -> tuple[Any, ...]:
    """The run row's columns from ``notes`` to ``staleness_threshold``, in table order (both backends'
    statements take them in this order)."""
    ext = rec.external or ExternalIdentity()
    return (
        rec.notes,
        rec.code_version,
        rec.error,
        ext.dag_id,
        ext.run_id,
        ext.task_id,
        ext.try_number,
        ext.map_index,
        ext.url,
        ext.openlineage_run_id,
        ext.openlineage_namespace,
        ext.openlineage_parent_run_id,
        rec.git_hash,
        _json_list(rec.git_tags),
        rec.code_snapshot,
        rec.staleness_threshold,
    )


def log_run_args(rec: RunRecord) -> tuple[Any, ...]:
    """The 28 arguments of ``mltrace_log_run`` (schema 0010) for ``rec``, in order: what the one-round-trip
    log sends, and what ``mltrace_ol_write`` (schema 0011) passes on for an OpenLineage run."""
    names, types = _pointer_args(rec)
    return (
        rec.key,
        rec.component,
        sorted(set(rec.component_tags)),
        rec.start,
        rec.end,
        rec.status,
        *_details(rec),
        names,
        types,
        [n for n, _, _ in rec.inputs],
        [v for _, v, _ in rec.inputs],
        [n for n, _, _ in rec.outputs],
        [v for _, v, _ in rec.outputs],
    )


# -- PostgreSQL: one round trip -------------------------------------------------------------------------
def _log_pg(conn: Any, rec: RunRecord) -> Logged | None:
    if not conn.autocommit:  # the held connection serves only this call: it stays in autocommit
        conn.autocommit = True  # client-side only (psycopg2 sends nothing): the call commits on return
    cur = conn.cursor()
    cur.execute(_PG_CALL, log_run_args(rec))
    run_id, upstream = cur.fetchone()
    cur.close()
    if run_id is None:
        return None
    if rec.staleness_threshold is None or not upstream:
        return int(run_id), ()
    return int(run_id), staleness.judged(upstream, rec.staleness_threshold)


def _json_list(values: tuple[str, ...] | None) -> str:
    # as SQLAlchemy's JSON type stores None (JSON null, not SQL NULL); most runs have no git tags
    return "null" if values is None else json.dumps(list(values))


# -- SQLite: prepared statements in one BEGIN IMMEDIATE ---------------------------------------------------
_SQLITE_LINK = f"""
INSERT INTO run_dependencies (consumer_run_id, pointer_id, producer_run_id)
SELECT consumer, pointer_id, producer FROM (
    SELECT i.run_id AS consumer, i.pointer_id AS pointer_id, {rule.producer("i", "?1", "?2")} AS producer
    FROM run_inputs i WHERE i.run_id = ?2
) AS linked
WHERE producer IS NOT NULL
"""
# write._relink_consumers in one statement (?1 start, ?2 run id, ?3 end); see migration 0008.
_SQLITE_RELINK = """
INSERT INTO run_dependencies (consumer_run_id, pointer_id, producer_run_id)
SELECT i.run_id, i.pointer_id, ?2
FROM run_outputs o
JOIN run_inputs i ON i.pointer_id = o.pointer_id AND i.start_ts >= o.end_ts AND i.run_id <> o.run_id
LEFT JOIN run_dependencies cd ON cd.consumer_run_id = i.run_id AND cd.pointer_id = i.pointer_id
LEFT JOIN run_outputs co ON co.run_id = cd.producer_run_id AND co.pointer_id = cd.pointer_id
WHERE o.run_id = ?2
  AND (?3 < i.start_ts OR ?1 < i.start_ts OR ?2 < i.run_id)
  AND (i.version IS NULL OR o.version IS NULL OR o.version = i.version)
  AND (cd.producer_run_id IS NULL OR
       (i.version IS NOT NULL AND co.version IS i.version, co.end_ts, cd.producer_run_id)
       < (i.version IS NOT NULL AND o.version IS i.version, ?3, ?2))
  AND true
ON CONFLICT (consumer_run_id, pointer_id) DO UPDATE SET producer_run_id = excluded.producer_run_id
"""
_SQLITE_RUN = (
    "INSERT INTO component_runs (key, component_id, start_ts, end_ts, status, notes, code_version, error,"
    " ext_dag_id, ext_run_id, ext_task_id, ext_try_number, ext_map_index, ext_url, ext_ol_run_id,"
    " ext_ol_namespace, ext_ol_parent_run_id, git_hash, git_tags, code_snapshot, staleness_threshold,"
    " logged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (key) DO NOTHING RETURNING id"
)


def sqlite_ts(ts: datetime) -> str:
    """A timestamp as SQLAlchemy stores it in SQLite (naive UTC text with microseconds: orders as text;
    ``isoformat`` spells it as SQLAlchemy's ``%04d-%02d-%02d %02d:%02d:%02d.%06d``, faster than strftime)."""
    if ts.tzinfo is not timezone.utc:
        ts = ts.astimezone(timezone.utc)
    return ts.replace(tzinfo=None).isoformat(" ", "microseconds")


# What 0.17's staleness rules judge of the new run (?1 its start, ?2 its id), as mltrace_log_run returns it.
_SQLITE_UPSTREAM = """
SELECT d.producer_run_id, c.name, w.start_ts,
       (SELECT count(*) FROM component_runs x
         WHERE x.component_id = w.component_id AND x.start_ts >= w.start_ts AND x.start_ts <= ?1
           AND x.id <> ?2)
FROM (SELECT DISTINCT producer_run_id FROM run_dependencies WHERE consumer_run_id = ?2) d
JOIN component_runs w ON w.id = d.producer_run_id
JOIN components c ON c.id = w.component_id
ORDER BY d.producer_run_id
"""


def _log_sqlite(conn: Any, rec: RunRecord) -> Logged | None:
    c = conn.execute
    now = sqlite_ts(datetime.now(timezone.utc))
    start, end = sqlite_ts(rec.start), sqlite_ts(rec.end)
    c("BEGIN IMMEDIATE")
    row = c("SELECT id FROM components WHERE name = ?", (rec.component,)).fetchone()
    if row is None:
        row = c(
            "INSERT INTO components (name, description, owner, created_at) VALUES (?, '', '', ?) RETURNING id",
            (rec.component, now),
        ).fetchone()
    cid = row[0]
    for tag in sorted(set(rec.component_tags)):
        c("INSERT INTO component_tags (component_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING", (cid, tag))
    names, types = _pointer_args(rec)
    ids: dict[str, int] = {}
    if names:
        ids = dict(c(f"SELECT name, id FROM pointers WHERE name IN ({','.join('?' * len(names))})", names))
        for name, ptype in zip(names, types, strict=True):
            if name not in ids:
                ids[name] = c(
                    "INSERT INTO pointers (name, type, flagged, created_at) VALUES (?, ?, 0, ?) RETURNING id",
                    (name, ptype, now),
                ).fetchone()[0]
    row = c(
        _SQLITE_RUN,
        (
            rec.key,
            cid,
            start,
            end,
            rec.status,
            *_details(rec),
            now,
        ),
    ).fetchone()
    if row is None:  # another report of a run already written: merged by the general path
        c("ROLLBACK")
        return None
    run_id = row[0]
    many = conn.executemany
    if rec.inputs:
        many(
            "INSERT INTO run_inputs (run_id, pointer_id, version, start_ts) VALUES (?, ?, ?, ?)",
            [(run_id, ids[name], version, start) for name, version, _ in rec.inputs],
        )
        c(_SQLITE_LINK, (start, run_id))
    if rec.outputs:
        many(  # with the run's status (its trigger fills it only for an output written without, 0015)
            "INSERT INTO run_outputs (run_id, pointer_id, version, start_ts, end_ts, status)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(run_id, ids[name], version, start, end, rec.status) for name, version, _ in rec.outputs],
        )
        c(_SQLITE_RELINK, (start, run_id, end))
    stale: tuple[str, ...] = ()
    if rec.staleness_threshold is not None and rec.inputs:
        upstream = [
            (dep, name, (rec.start - _utc(dep_start)).total_seconds(), fresher)
            for dep, name, dep_start, fresher in c(_SQLITE_UPSTREAM, (start, run_id))
        ]
        stale = staleness.judged(upstream, rec.staleness_threshold)
    reach.logged_sqlite(conn, [run_id])
    c("COMMIT")
    return int(run_id), stale


def _utc(stored: str) -> datetime:
    return datetime.fromisoformat(stored).replace(tzinfo=timezone.utc)
