"""Flags with context: who flagged what, when and why, and what a flag reaches.

A flag is a record (``flags``, schema 0009) on a whole pointer (``version`` NULL: every version, later ones
included) or on one version of it (one some run wrote: a flag on an unknown version would catch nothing).
Flagging again adds a record; unflagging ends the active records of exactly the target named (``NAME@V``:
the flags on that version; ``NAME``: every flag on the pointer), never deletes them, so the history stays.

``pointers.flagged`` is a cache of "has an active flag", kept here and nowhere else: its partial index
holds only the few flagged pointers, so the check of a task try's inputs (:func:`flags_on`) is one index
probe per input name even in a store of millions of pointers.

``review`` ranks the runs common to the traces of the active flags: a pointer flag's trace starts at the
pointer's latest writer, a version flag's at that version's writer.
"""

from __future__ import annotations

import getpass
from typing import Any, cast

from sqlalchemy import CursorResult, Update, and_, bindparam, exists, func, select, true, update
from sqlalchemy.orm import Session

from mltrace_core.addresses import resolve
from mltrace_core.errors import InvalidInputError, NotFoundError
from mltrace_core.lineage import latest_writer, shared_runs
from mltrace_core.models import flags, pointers, run_outputs, utcnow
from mltrace_core.naming import canonical
from mltrace_core.queries import load_runs
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
    session.execute(
        flags.insert().values(
            pointer_id=pid, version=version, reason=reason or None, flagged_by=by, flagged_at=at
        )
    )
    session.execute(update(pointers).where(pointers.c.id == pid).values(flagged=True))
    return FlagRecord(name, version, reason or None, by, at, None)


def unflag(session: Session, address: str) -> int:
    """End the active flags on exactly ``address``'s target (``NAME``: all of the pointer's); how many."""
    pid, _, version = _target(session, address, "unflag")
    active = and_(flags.c.pointer_id == pid, flags.c.unflagged_at.is_(None))
    if version is not None:
        active = and_(active, flags.c.version == version)
    ended = _changed(session, update(flags).where(active).values(unflagged_at=utcnow()))
    _refresh(session, pid)
    return ended


def _refresh(session: Session, pid: int) -> None:
    still = exists().where(flags.c.pointer_id == pid, flags.c.unflagged_at.is_(None))
    session.execute(
        update(pointers).where(pointers.c.id == pid).values(flagged=select(still).scalar_subquery())
    )


def unflag_all(session: Session) -> int:
    """End every active flag; the number of pointers that were flagged."""
    session.execute(update(flags).where(flags.c.unflagged_at.is_(None)).values(unflagged_at=utcnow()))
    return _changed(session, update(pointers).where(pointers.c.flagged == true()).values(flagged=False))


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


def flags_on(session: Session, inputs: list[tuple[str, str | None]]) -> list[FlagRecord]:
    """The active flags that reach what a run reads: ``inputs`` are (pointer name, version or None).

    A pointer flag reaches every read of the pointer; a version flag, a read of that version -- and an
    unversioned read while that version is the pointer's latest (what the read gets, by the lineage
    rule). One lookup in the partial index of flagged names when no input is flagged (the usual case);
    else one more for their active flags, and one probe per such pointer read unversioned that has
    version flags."""
    wanted: dict[str, set[str | None]] = {}
    for name, version in inputs:
        wanted.setdefault(canonical(name), set()).add(version)
    if not wanted:
        return []
    # Two steps, so that each is an index lookup whatever the planner thinks of a join: the few flagged
    # pointers among the names read (the partial index on flagged names), then their active flags.
    hit = dict(
        session.execute(
            select(pointers.c.id, pointers.c.name).where(
                pointers.c.flagged == true(), pointers.c.name.in_(bindparam("names", expanding=True))
            ),
            {"names": sorted(wanted)},
        ).all()
    )
    if not hit:
        return []
    rows = session.execute(
        select(flags.c.pointer_id, *_COLUMNS)
        .join(pointers, pointers.c.id == flags.c.pointer_id)
        .where(flags.c.pointer_id.in_(bindparam("ids", expanding=True)), flags.c.unflagged_at.is_(None))
        .order_by(pointers.c.name, flags.c.flagged_at, flags.c.id),
        {"ids": sorted(hit)},
    ).all()
    latest: dict[int, str | None] = {}
    found = []
    for pid, *record in rows:
        name, version = record[0], record[1]
        read = wanted[name]
        if version is not None and None in read and pid not in latest:
            latest[pid] = _latest_version(session, pid)
        if version is None or version in read or (None in read and latest.get(pid) == version):
            found.append(FlagRecord(*record))
    return found


def _latest_version(session: Session, pid: int) -> str | None:
    return session.execute(
        select(run_outputs.c.version)
        .where(run_outputs.c.pointer_id == pid)
        .order_by(run_outputs.c.end_ts.desc(), run_outputs.c.run_id.desc())
        .limit(1)
    ).scalar()


def _version_writer(session: Session, pid: int, version: str) -> int | None:
    return session.execute(
        select(run_outputs.c.run_id)
        .where(run_outputs.c.pointer_id == pid, run_outputs.c.version == version)
        .order_by(run_outputs.c.end_ts.desc(), run_outputs.c.run_id.desc())
        .limit(1)
    ).scalar()


def review(session: Session) -> Review:
    """The flagged pointers, every flag record (history included), and the runs in the traces of the
    active flags, most common first (the likely culprits). One trace per distinct start run."""
    records = history(session)
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
    loaded = load_runs(session, [r for r, _ in counts])
    return Review(
        flagged=tuple(flagged_names(session)),
        runs=tuple((loaded[r], n) for r, n in counts if r in loaded),
        flags=tuple(records),
    )
