"""Flags with context: who flagged what, when and why, and what a flag reaches.

A flag is a record (``flags``, schema 0009) on a whole pointer (``version`` NULL: every version, later ones
included) or on one version of it (one some run wrote: a flag on an unknown version would catch nothing).
Flagging again adds a record; unflagging ends the active records of exactly the target named (``NAME@V``:
the flags on that version; ``NAME``: every flag on the pointer), never deletes them, so the history stays.

What a flag reaches is defined once, as SQL (:func:`reaches`, :func:`read_version`), and embedded by every
statement that asks: the check of a try's inputs (:func:`flags_on`), the gate and the tab's marks
(:func:`mltrace_core.checks.flagged_pointers`); :mod:`mltrace_core.reach` keeps, for the check, the runs
made from what each active flag reaches (the same definition, written out in its statements). A flag on a pointer reaches every read and write of it; a
flag on version V, a read or write of V, where an unversioned read got what its producer (by the lineage
rule) wrote.

``pointers.flagged`` is a cache of "has an active flag", kept here and nowhere else: its partial index
holds only the few flagged pointers, so "is anything flagged at all" is one index probe even in a store of
millions of pointers -- all the check of a try costs when nothing is.

``review`` ranks the runs common to the traces of the active flags: a pointer flag's trace starts at the
pointer's latest writer, a version flag's at that version's writer.
"""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    CursorResult,
    Update,
    and_,
    exists,
    func,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session

from mltrace_core import lineage, reach, rule
from mltrace_core.addresses import resolve
from mltrace_core.db import PreparedStatement
from mltrace_core.errors import InvalidInputError, NotFoundError
from mltrace_core.fastlog import sqlite_ts
from mltrace_core.fasttrace import timestamps
from mltrace_core.lineage import latest_writer, shared_runs
from mltrace_core.models import flags, pointers, run_outputs, utcnow
from mltrace_core.naming import canonical
from mltrace_core.queries import dialect_of, load_runs
from mltrace_core.records import FlagRecord, Review

_COLUMNS = (
    pointers.c.name,
    flags.c.version,
    flags.c.reason,
    flags.c.flagged_by,
    flags.c.flagged_at,
    flags.c.unflagged_at,
)


def os_user() -> str | None:
    """Who flags from the CLI or the Python API: the operating system's user."""
    try:
        return getpass.getuser()  # LOGNAME, USER, LNAME, USERNAME, then the password database
    except Exception:  # no user name for this uid (some containers)
        return None


def _target(session: Session, address: str, verb: str) -> tuple[int, str, str | None]:
    """(pointer id, pointer name, version or None) that ``address`` names: ``NAME`` or ``NAME@VERSION``."""
    where = resolve(session, address)
    if where.kind == "run":
        raise InvalidInputError(
            f"{verb} a pointer (NAME) or one version of it (NAME@VERSION), not a run ({address!r})"
        )
    name = str(where.pointer)
    pid = session.execute(select(pointers.c.id).where(pointers.c.name == name)).scalar_one()
    return int(pid), name, where.version if where.kind == "version" else None


def flag(session: Session, address: str, reason: str | None, by: str | None) -> FlagRecord:
    """Add a flag on ``address`` (``NAME``: the whole pointer; ``NAME@VERSION``: that version)."""
    pid, name, version = _target(session, address, "flag")
    at = utcnow()
    fid = session.execute(
        flags.insert()
        .values(pointer_id=pid, version=version, reason=reason or None, flagged_by=by, flagged_at=at)
        .returning(flags.c.id)
    ).scalar_one()
    session.execute(update(pointers).where(pointers.c.id == pid).values(flagged=True))
    reach.flag_added(session, fid)
    return FlagRecord(name, version, reason or None, by, at, None)


def unflag(session: Session, address: str) -> int:
    """End the active flags on exactly ``address``'s target (``NAME``: all of the pointer's); how many."""
    pid, _, version = _target(session, address, "unflag")
    active = and_(flags.c.pointer_id == pid, flags.c.unflagged_at.is_(None))
    if version is not None:
        active = and_(active, flags.c.version == version)
    ended = _changed(session, update(flags).where(active).values(unflagged_at=utcnow()))
    _refresh(session, pid)
    reach.flags_ended(session, pid)
    return ended


def _refresh(session: Session, pid: int) -> None:
    still = exists().where(flags.c.pointer_id == pid, flags.c.unflagged_at.is_(None))
    session.execute(
        update(pointers).where(pointers.c.id == pid).values(flagged=select(still).scalar_subquery())
    )


def unflag_all(session: Session) -> int:
    """End every active flag; the number of pointers that were flagged."""
    session.execute(update(flags).where(flags.c.unflagged_at.is_(None)).values(unflagged_at=utcnow()))
    changed = _changed(session, update(pointers).where(pointers.c.flagged == true()).values(flagged=False))
    reach.flags_ended(session, None)
    return changed


def _changed(session: Session, statement: Update) -> int:
    """The rows an UPDATE changed."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def flagged_names(session: Session) -> list[str]:
    """The names of the pointers with an active flag (a partial index holds just those)."""
    query = select(pointers.c.name).where(pointers.c.flagged == true()).order_by(pointers.c.name)
    return list(session.execute(query).scalars())


def history(session: Session, pointer: str | None = None, active_only: bool = False) -> list[FlagRecord]:
    """Flag records, by pointer name then time (every pointer's, or ``pointer``'s in any spelling)."""
    query = select(*_COLUMNS).join(pointers, pointers.c.id == flags.c.pointer_id)
    if pointer is not None:
        name = canonical(pointer)
        if session.execute(select(pointers.c.id).where(pointers.c.name == name)).scalar() is None:
            raise NotFoundError(f"no pointer named {name!r}")
        query = query.where(pointers.c.name == name)
    if active_only:
        query = query.where(flags.c.unflagged_at.is_(None))
    query = query.order_by(pointers.c.name, flags.c.flagged_at, flags.c.id)
    return [FlagRecord(*row) for row in session.execute(query)]


def reaches(flag: str, pointer: str, version: str) -> str:
    """SQL: the active flag ``flag`` (an alias of ``flags``) reaches a read or write of the pointer with id
    ``pointer`` at version ``version`` (SQL expressions; NULL: no known version). THE definition of what
    a flag reaches, for every check (a try's inputs, the gate, the tab's marks): a flag on the pointer
    reaches every read and write of it; a flag on version V, a read or write of V -- where a read's
    version is :func:`read_version` (an unversioned read got what its producer wrote), and an unversioned
    write's is unknown, so no version flag reaches it."""
    return (
        f"{flag}.pointer_id = {pointer} AND {flag}.unflagged_at IS NULL"
        f" AND ({flag}.version IS NULL OR {flag}.version = {version})"
    )


def read_version(version: str, producer: str, pointer: str) -> str:
    """SQL: the version a read of ``pointer`` got: the version it names, else the one its producer (by
    the lineage rule, :mod:`mltrace_core.rule`) wrote; NULL when neither is known."""
    return (
        f"COALESCE({version}, (SELECT w.version FROM run_outputs w"
        f" WHERE w.run_id = {producer} AND w.pointer_id = {pointer}))"
    )


def linked_producer(read: str) -> str:
    """SQL: the producer a stored read ``read`` (an alias of ``run_inputs``) is linked to, or NULL."""
    return (
        f"(SELECT d.producer_run_id FROM run_dependencies d"
        f" WHERE d.consumer_run_id = {read}.run_id AND d.pointer_id = {read}.pointer_id)"
    )


class FlagHit(NamedTuple):
    """An active flag that reaches what a try is about to read: ``run`` is ``None`` when the try reads the
    flagged data itself, else the run in its inputs' lineage that read or wrote it (``component`` its)."""

    flag: FlagRecord
    run: int | None = None
    component: str | None = None

    @property
    def target(self) -> str:
        return self.flag.target

    def describe(self) -> str:
        """One line for a task log or a run's notes."""
        if self.run is None:
            return self.flag.describe()
        return f"{self.flag.describe()} (upstream: read or written by run {self.run}, {self.component})"


# The inputs of a try, bound as one JSON parameter: [{"name": ..., "version": ...}, ...].
_INPUTS = {
    "postgresql": "SELECT x.name, x.version FROM json_to_recordset($1) AS x(name text, version text)",
    "sqlite": "SELECT json_extract(j.value, '$.name') AS name, json_extract(j.value, '$.version') AS version"
    " FROM json_each(:inputs) AS j",
}
_FLAGGED = {"postgresql": "p.flagged", "sqlite": "p.flagged = 1"}
_NOW = {"postgresql": "$2", "sqlite": ":now"}


@cache
def _check_sql(dialect: str) -> str:
    # The runs the try will be linked to (the lineage rule, as of now), and every active flag reaching
    # one of the try's own reads (run NULL) or in the reach of one of those runs (``flag_reach``, kept by
    # mltrace_core.reach: the flags reaching a read or write of the run or of its upstream lineage, with
    # the latest run there that touched each): a probe of the primary key per producer, however deep the
    # lineage. The last line is the probe of the partial index of flagged pointers, evaluated once before
    # anything else: where nothing is flagged, the statement stops there.
    now = _NOW[dialect]
    flagged = (
        f"(SELECT q.flagged FROM pointers q WHERE q.id = l.pointer_id){' = 1' if dialect == 'sqlite' else ''}"
    )
    return f"""
        WITH
        reads(pointer_id, version) AS (
            SELECT q.id, x.version FROM ({_INPUTS[dialect]}) AS x JOIN pointers q ON q.name = x.name
        ),
        linked(pointer_id, version, producer) AS MATERIALIZED (
            SELECT r.pointer_id, r.version, {rule.producer("r", now, "0")} FROM reads r
        ),
        hits(run_id, flag_id) AS MATERIALIZED (
            SELECT NULL, f.id FROM linked l
              JOIN flags f ON {reaches("f", "l.pointer_id", read_version("l.version", "l.producer", "l.pointer_id"))}
             WHERE {flagged}
            UNION ALL
            SELECT r.via, r.flag_id FROM linked l JOIN flag_reach r ON r.run_id = l.producer
        )
        SELECT h.run_id, c.name, p.name, f.version, f.reason, f.flagged_by, f.flagged_at, f.id
        FROM hits h JOIN flags f ON f.id = h.flag_id AND f.unflagged_at IS NULL
        JOIN pointers p ON p.id = f.pointer_id
        LEFT JOIN component_runs cr ON cr.id = h.run_id LEFT JOIN components c ON c.id = cr.component_id
        WHERE EXISTS (SELECT 1 FROM pointers p WHERE {_FLAGGED[dialect]})
        """


# PostgreSQL: the check is a prepared statement of each connection (db.PreparedStatement), planned once.
# Planning it cost 2-3 times executing it where the flagged data is recent; now a process that checks
# many tries (a worker's listener, an API server, the bench) plans it once per pooled connection, and a
# task process that checks one try plans it once, as before. The index-probe settings (INDEX_WALK) go
# with every call: flag_reach's statistics change fast.
CHECK = PreparedStatement(
    "mltrace_flags_on", "json, timestamptz", _check_sql("postgresql"), "%s, %s", lineage.INDEX_WALK
)


def check(
    cursor: Any, dialect: str, inputs: list[tuple[str, str | None]], now: datetime | None = None
) -> list[FlagHit]:
    """:func:`flags_on` on a driver cursor: one statement, one round trip (see :mod:`mltrace_core.fastread`)."""
    if not inputs:
        return []
    wanted = json.dumps([{"name": canonical(name), "version": version} for name, version in inputs])
    at = now or utcnow()
    if dialect == "postgresql":
        CHECK.execute(cursor, (wanted, at))
    else:
        cursor.execute(_check_sql(dialect), {"inputs": wanted, "now": sqlite_ts(at)})
    return hits(cursor.fetchall(), dialect)


def hits(rows: list[Any], dialect: str) -> list[FlagHit]:
    """The check's rows -- (run or NULL, its component, pointer, version, reason, by, at, flag id) -- as
    one hit per flag: on the try's own read if it is one, else on the latest run that touched it."""
    ts = timestamps(dialect)
    best: dict[int, FlagHit] = {}
    order: dict[int, tuple[str, datetime, int]] = {}
    for run, component, name, version, reason, by, flagged_at, fid in rows:
        at_ = ts(flagged_at)
        hit = FlagHit(FlagRecord(name, version, reason, by, at_, None), run, component)
        old = best.get(fid)
        if old is None or (old.run is not None and (run is None or run > old.run)):
            best[fid] = hit
        order[fid] = (name, at_, fid)
    return [best[fid] for fid in sorted(best, key=lambda f: (best[f].run is not None, order[f]))]


def flags_on(
    session: Session, inputs: list[tuple[str, str | None]], now: datetime | None = None
) -> list[FlagHit]:
    """The active flags that reach what a try about to run reads -- ``inputs``, (pointer name, version or
    None) pairs -- or what those inputs were made from (the runs the try will be linked to by the lineage
    rule, and their whole upstream lineage): a bad raw export makes the model trained on it bad, and the
    predictions scored with that model. Which reads and writes a flag reaches: :func:`reaches` (an
    unversioned input reads the version its producer wrote, the latest). One flag is reported once, on
    the try's own read if it is one, else on the latest run of the lineage that touched it.

    One statement (:func:`check`, which the store runs on a driver connection outside a transaction),
    here inside the session's transaction: where no pointer is flagged, it stops after one probe of the
    partial index of flagged pointers; else it reads what the flags reach upstream of each producer
    (``flag_reach``, kept by :mod:`mltrace_core.reach`), a probe each, however deep the lineage."""
    cursor = session.connection().connection.cursor()
    try:
        return check(cursor, dialect_of(session), inputs, now)
    finally:
        cursor.close()


def _version_writer(session: Session, pid: int, version: str) -> int | None:
    return session.execute(
        select(run_outputs.c.run_id)
        .where(run_outputs.c.pointer_id == pid, run_outputs.c.version == version)
        .order_by(run_outputs.c.end_ts.desc(), run_outputs.c.run_id.desc())
        .limit(1)
    ).scalar()


def recent(session: Session, limit: int) -> list[FlagRecord]:
    """The ``limit`` most recent flag records, newest first: a walk down the primary key (ids grow with
    time), however long the history."""
    query = (
        select(*_COLUMNS)
        .join(pointers, pointers.c.id == flags.c.pointer_id)
        .order_by(flags.c.id.desc())
        .limit(limit)
    )
    return [FlagRecord(*row) for row in session.execute(query)]


def review(session: Session, limit: int | None = None) -> Review:
    """The flagged pointers, the flag records (history included), and the runs in the traces of the
    active flags, most common first (the likely culprits). One trace per distinct start run.

    ``limit`` (a page): only the ``limit`` most recent flag records (newest first) and the ``limit`` most
    common runs are loaded, so a long history or a huge trace costs a page what it shows; ``None`` (the
    CLI, the JSON API): every record, by pointer name then time, and every run."""
    records = history(session) if limit is None else recent(session, limit)
    targets = session.execute(
        select(flags.c.pointer_id, flags.c.version)
        .join(pointers, pointers.c.id == flags.c.pointer_id)
        .where(flags.c.unflagged_at.is_(None))
        .group_by(flags.c.pointer_id, flags.c.version, pointers.c.name)
        .order_by(pointers.c.name, func.coalesce(flags.c.version, ""))
    ).all()
    starts: dict[int, None] = {}
    for pid, version in targets:
        start = latest_writer(session, pid) if version is None else _version_writer(session, pid, version)
        if start is not None:
            starts[start] = None
    counts = shared_runs(session, list(starts))
    if limit is not None:
        counts = counts[:limit]
    loaded = load_runs(session, [r for r, _ in counts])
    return Review(
        flagged=tuple(flagged_names(session)),
        runs=tuple((loaded[r], n) for r, n in counts if r in loaded),
        flags=tuple(records),
    )
