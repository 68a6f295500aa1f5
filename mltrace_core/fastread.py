"""The hot path of ``recent``, ``history``, ``inspect`` and component listings: one statement on the driver's
connection.

These reads return a few runs from a store of millions, so their cost is the client's, not the
database's: an ORM session, a transaction, and the several batched queries of :func:`queries.load_runs`
and :func:`details.detail` cost 5-30x the one indexed statement that answers them. Here each read is one
statement on a pooled driver connection (PostgreSQL: autocommit, one round trip; a single statement is
one snapshot), returning one row per run with its pointers, lineage edges, tags and versions aggregated
into text columns, and records are built from those rows.

The common case only: a run whose staleness needs the general rules -- one that read a pinned version
of an input (a newer version may have existed), one with an input produced nearly 30 days before it
started (the statement flags both), one logged through mltrace 0.17's API (its own staleness rules),
one with test results -- makes the call answer ``None``, and the store takes the general path
(:mod:`mltrace_core.queries`), as :mod:`mltrace_core.fastlog` does for a merge. Both paths are checked
equal in tests/core/test_fastread.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Engine

from mltrace_core import db
from mltrace_core.entities.component import Component
from mltrace_core.fasttrace import new_record, run_fields, timestamps
from mltrace_core.queries import SEP
from mltrace_core.records import Run, RunDetail

T = TypeVar("T")
_RS = "\x1e"  # between the parts of one aggregated item (validation.py keeps it out of names)
_NULL = "\x1d"  # an aggregated NULL (a version or type not given)
GENERAL = "!"  # after a producer id: this edge needs the general staleness rules (impact.py too)


def read(engine: Engine, fn: Callable[..., T], *args: Any) -> T:
    """``fn(cursor, dialect, *args)`` on a pooled driver connection: PostgreSQL in autocommit (psycopg2
    sends no BEGIN or COMMIT), SQLite outside a transaction (the engine's connections issue their own
    BEGIN, so none is open here). Driver errors are raised as SQLAlchemy's ``DBAPIError`` (what the store
    translates and retries), a disconnected connection invalidated so the pool never hands it out again."""
    postgres = engine.dialect.name == "postgresql"
    fairy = db.raw_connection(engine, "mltrace fast read")
    try:
        conn: Any = fairy.driver_connection
        if postgres:
            conn.autocommit = True
        cursor = conn.cursor()
        try:
            return fn(cursor, engine.dialect.name, *args)
        except (sqlite3.Error, engine.dialect.loaded_dbapi.Error) as exc:
            raise db.driver_error(engine, fairy, exc, "mltrace fast read") from exc
        finally:
            cursor.close()
            if postgres and not conn.closed:
                conn.autocommit = False
    finally:
        fairy.close()


@cache
def _sql(dialect: str) -> dict[str, str]:
    pg = dialect == "postgresql"

    def agg(value: str, order: str | None = None) -> str:
        """Joined by the unit separator; ``order``: in that order on PostgreSQL (its collation, as the
        general path's ORDER BY), sorted in Python on SQLite (BINARY: code point order, as Python's)."""
        if pg:
            return f"string_agg(({value})::text, E'\\x1f'{f' ORDER BY {order}' if order else ''})"
        return f"group_concat({value}, char(31))"

    def param(name: str) -> str:
        return f"%({name})s" if pg else f":{name}"

    rs, null = ("E'\\x1e'", "E'\\x1d'") if pg else ("char(30)", "char(29)")
    # a margin of a day below the 30-day rule: the exact test is the general path's, in Python
    old = (
        "prod.end_ts < r.start_ts - interval '29 days'"
        if pg
        else "prod.end_ts < datetime(r.start_ts, '-29 days')"
    )
    edges = f"""(SELECT {agg(f"d.producer_run_id || CASE WHEN i.version IS NOT NULL OR {old} THEN '!' ELSE '' END")}
           FROM run_dependencies d JOIN component_runs prod ON prod.id = d.producer_run_id
           JOIN run_inputs i ON i.run_id = d.consumer_run_id AND i.pointer_id = d.pointer_id
           WHERE d.consumer_run_id = r.id)"""
    columns = f"""r.id, c.name, r.start_ts, r.end_ts, r.status, r.notes, r.code_version, r.error,
        r.ext_dag_id, r.ext_run_id, r.ext_task_id, r.ext_try_number, r.ext_map_index, r.ext_url,
        r.ext_ol_run_id, r.ext_ol_namespace, r.ext_ol_parent_run_id, r.staleness_threshold,
        (SELECT {agg("p.name")} FROM run_inputs i JOIN pointers p ON p.id = i.pointer_id WHERE i.run_id = r.id),
        (SELECT {agg("p.name")} FROM run_outputs o JOIN pointers p ON p.id = o.pointer_id WHERE o.run_id = r.id),
        {edges}"""

    def pointers(table: str) -> str:
        item = f"p.name || {rs} || COALESCE(t.version, {null}) || {rs} || COALESCE(p.type, {null})"
        return f"(SELECT {agg(item, 'p.name')} FROM {table} t JOIN pointers p ON p.id = t.pointer_id WHERE t.run_id = r.id)"

    newest = "ORDER BY r.start_ts DESC, r.id DESC"
    # Components: one row each, its tags, and its latest run (by start, then id) in the columns above.
    latest = "FROM component_runs l WHERE l.component_id = c.id ORDER BY l.start_ts DESC, l.id DESC LIMIT 1"
    latest_run = (  # PostgreSQL: an index scan per component, whatever the statistics say
        f"LEFT JOIN LATERAL (SELECT * {latest}) r ON true"
        if pg
        else f"LEFT JOIN component_runs r ON r.id = (SELECT l.id {latest})"
    )
    filters = " AND ".join(
        (
            f"(CAST({param('tag')} AS TEXT) IS NULL OR c.id IN "
            f"(SELECT g.component_id FROM component_tags g WHERE g.tag = {param('tag')}))",
            f"(CAST({param('owner')} AS TEXT) IS NULL OR c.owner = {param('owner')})",
            f"(CAST({param('name')} AS TEXT) IS NULL OR c.name = {param('name')})",
        )
    )
    return {
        "components": f"""SELECT c.id, c.name, c.description, c.owner, c.run_count,
            (SELECT {agg("g.tag", "g.tag")} FROM component_tags g WHERE g.component_id = c.id),
            r.id IS NOT NULL, {columns}
            FROM components c {latest_run}
            WHERE {filters} ORDER BY c.name""",
        "recent": f"""SELECT {columns}
            FROM (SELECT * FROM component_runs ORDER BY start_ts DESC, id DESC LIMIT {param("n")}) r
            JOIN components c ON c.id = r.component_id {newest}""",
        "history": f"""SELECT {columns}
            FROM (SELECT * FROM component_runs
                  WHERE component_id = (SELECT id FROM components WHERE name = {param("name")})
                  ORDER BY start_ts DESC, id DESC LIMIT {param("n")}) r
            JOIN components c ON c.id = r.component_id {newest}""",
        "detail": f"""SELECT {columns},
            r.git_hash, r.git_tags, r.code_snapshot,
            EXISTS (SELECT 1 FROM run_tests t WHERE t.run_id = r.id),
            {pointers("run_inputs")},
            {pointers("run_outputs")},
            (SELECT {agg("d.consumer_run_id")} FROM run_dependencies d WHERE d.producer_run_id = r.id),
            (SELECT {agg("g.tag", "g.tag")} FROM component_tags g WHERE g.component_id = r.component_id),
            (SELECT {agg("uc.name")} FROM run_dependencies d
               JOIN component_runs u ON u.id = d.producer_run_id JOIN components uc ON uc.id = u.component_id
               WHERE d.consumer_run_id = r.id)
            FROM component_runs r JOIN components c ON c.id = r.component_id WHERE r.id = {param("id")}""",
    }


def _runs(rows: list[tuple[Any, ...]], dialect: str) -> list[Run] | None:
    """Records of these rows (the columns of ``_sql``'s listings), ``None`` if one needs the general
    staleness rules."""
    ts = timestamps(dialect)
    out = []
    for row in rows:
        if needs_general(row):
            return None
        out.append(new_record(Run, row_fields(row, ts)))
    return out


def needs_general(row: tuple[Any, ...]) -> bool:
    """Whether the run needs the general staleness rules: mltrace 0.17's threshold, or an edge flagged (the
    row layout of ``_sql``'s listings, which impact.py's page rows share, with their columns 0-20)."""
    return row[17] is not None or bool(row[20] and GENERAL in row[20])


def row_fields(row: tuple[Any, ...], ts: Callable[[Any], datetime]) -> dict[str, Any]:
    ins, outs, deps = row[18], row[19], row[20]
    return run_fields(
        row,
        ts(row[2]),
        ts(row[3]),
        tuple(sorted(ins.split(SEP))) if ins else (),
        tuple(sorted(outs.split(SEP))) if outs else (),
        tuple(sorted({int(p) for p in deps.split(SEP)})) if deps else (),
        (),
    )


def recent(cursor: Any, dialect: str, limit: int) -> list[Run] | None:
    cursor.execute(_sql(dialect)["recent"], {"n": limit})
    return _runs(cursor.fetchall(), dialect)


def history(cursor: Any, dialect: str, component: str, limit: int) -> list[Run] | None:
    """``None`` also when there is no run: the general path tells a component without runs from none."""
    cursor.execute(_sql(dialect)["history"], {"name": component, "n": limit})
    rows = cursor.fetchall()
    return _runs(rows, dialect) if rows else None


def detail(cursor: Any, dialect: str, run_id: int) -> RunDetail | None:
    cursor.execute(_sql(dialect)["detail"], {"id": run_id})
    row = cursor.fetchone()
    if row is None or row[24] or needs_general(row):  # unknown, test results, or staleness rules
        return None
    fields = row_fields(row, timestamps(dialect))
    git_tags = row[22]
    if isinstance(git_tags, str):  # SQLite: JSON text; PostgreSQL: parsed by the driver
        git_tags = json.loads(git_tags)
    inputs, outputs = _pointers(row[25], dialect), _pointers(row[26], dialect)
    types = {name: ptype for name, _, ptype in inputs}
    types.update((name, ptype) for name, _, ptype in outputs)
    fields.update(
        git_hash=row[21],
        git_tags=None if git_tags is None else tuple(git_tags),
        code_snapshot=row[23],
        upstream_components=tuple(sorted(set(row[29].split(SEP)))) if row[29] else (),
        input_versions=tuple((name, version) for name, version, _ in inputs),
        output_versions=tuple((name, version) for name, version, _ in outputs),
        downstream=tuple(sorted({int(c) for c in row[27].split(SEP)})) if row[27] else (),
        component_tags=_in_order(row[28].split(SEP), dialect) if row[28] else (),
        pointer_types=tuple(sorted(types.items())),
        tests=(),
    )
    return new_record(RunDetail, fields)


def components(
    cursor: Any, dialect: str, tag: str | None, owner: str | None, name: str | None
) -> list[Component] | None:
    """:func:`catalog.list_components` in one statement: the components, their tags, run counts and
    latest runs; ``None`` if a latest run needs the general staleness rules."""
    cursor.execute(_sql(dialect)["components"], {"tag": tag, "owner": owner, "name": name})
    rows = cursor.fetchall()
    latest = [row[7:] for row in rows if row[6]]
    runs = _runs(latest, dialect)
    if runs is None:
        return None
    by_id = {run.id: run for run in runs}
    return [
        Component(
            name=row[1],
            description=row[2] or "",
            owner=row[3] or "",
            tags=_in_order(row[5].split(SEP), dialect) if row[5] else (),
            latest_run=by_id[row[7]] if row[6] else None,
            run_count=row[4],
        )
        for row in rows
    ]


def _in_order(names: list[str], dialect: str) -> tuple[str, ...]:
    """Names in the general path's ORDER BY order: PostgreSQL ordered them already."""
    return tuple(names if dialect == "postgresql" else sorted(names))


def _pointers(text: str | None, dialect: str) -> list[tuple[str, str | None, str | None]]:
    """(name, version, type) of a run's inputs or outputs, ordered by name as the general path orders."""
    if not text:
        return []
    found = []
    for item in text.split(SEP):
        name, version, ptype = item.split(_RS)
        found.append((name, None if version == _NULL else version, None if ptype == _NULL else ptype))
    if dialect != "postgresql":
        found.sort(key=lambda p: p[0])
    return found
