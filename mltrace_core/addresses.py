"""Addresses: how a user names where a trace starts, resolved in one place for every entry point.

An address is tried in this order:

1. ``run:<digits>`` is always a run id: the trace of what that run wrote starts at that run.
2. A text that is a pointer's whole name is that pointer, so ``trace user@host.csv`` keeps working even
   when a pointer ``user`` has a version ``host.csv``. It means the pointer's latest version (latest end
   time, then the later-logged run) or, with ``as_of``, the latest version written by a run that ended at
   or before that time.
3. Otherwise the text splits at an ``@`` whose left side is a pointer and whose right side is a version
   of it someone wrote. One such split is that version, written by its latest writer (end time, then
   id); more than one is an error naming each match as a ``run:ID`` address, which is never ambiguous.

A pointer name may be given in any of its spellings (``file:///data/x.csv`` is ``/data/x.csv``, see
:mod:`mltrace_core.naming`).

``as_of`` picks only the start run: the lineage above it is today's (a run logged late is in it), not a
snapshot of what the store held then. It applies to plain names only; with ``NAME@VERSION`` or ``run:ID``
it is an error, and so is a time by which nothing had written the pointer.

Every lookup is one index range scan (``run_outputs`` by pointer and end time, or by pointer and
version), so a versioned or as-of trace costs what a trace of the latest version costs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mltrace_core import lineage
from mltrace_core import validation as valid
from mltrace_core.errors import AmbiguousAddressError, InvalidInputError, NotFoundError
from mltrace_core.formats import when
from mltrace_core.models import pointers, run_outputs, runs
from mltrace_core.naming import canonical
from mltrace_core.records import Address, Trace

RUN_PREFIX = "run:"
MAX_ADDRESS_BYTES = valid.MAX_NAME_BYTES + 1 + valid.MAX_VERSION_BYTES
SHOWN_VERSIONS = 10  # versions an "unknown version" error lists


def checked(address: object) -> str:
    """``address`` if it can be an address at all (a string, no control characters, not too long)."""
    return valid.name(address, "address", MAX_ADDRESS_BYTES)


def run_address(run_id: int) -> str:
    return f"{RUN_PREFIX}{run_id}"


def resolve(session: Session, address: str, as_of: datetime | None = None) -> Address:
    """The run ``address`` starts at (see the module docstring for the grammar and its order)."""
    run_id = _run_id(address)
    if run_id is not None:
        if as_of is not None:
            raise InvalidInputError(f"as_of applies to a pointer name; {address!r} names one run already")
        if session.execute(select(runs.c.id).where(runs.c.id == run_id)).scalar() is None:
            raise NotFoundError(f"no run with id {run_id}")
        return Address(address, "run", run_id)
    splits = _splits(address)
    # Any spelling of a pointer names it (naming.canonical): file:///x is /x.
    spelled = {name: canonical(name) for name in (address, *(left for left, _ in splits))}
    pointer_ids = dict(
        session.execute(
            select(pointers.c.name, pointers.c.id).where(
                pointers.c.name.in_(bindparam("names", expanding=True))
            ),
            {"names": sorted(set(spelled.values()))},
        ).all()
    )
    found = {name: pointer_ids[one] for name, one in spelled.items() if one in pointer_ids}
    if address in found:
        return _plain(session, spelled[address], found[address], as_of)
    matches = _version_writers(
        session, [(found[left], spelled[left], right) for left, right in splits if left in found]
    )
    if len(matches) > 1:
        listed = "; ".join(
            f"{run_address(run)} (pointer {left!r}, version {right!r})" for left, right, run in matches
        )
        raise AmbiguousAddressError(
            f"{address!r} is ambiguous: it names {listed}",
            tuple(run_address(run) for _, _, run in matches),
        )
    if matches:
        left, right, run = matches[0]
        if as_of is not None:
            raise InvalidInputError(f"as_of applies to a pointer name; {address!r} names a version already")
        return Address(address, "version", run, left, right)
    known = [left for left, _ in splits if left in found]
    if known:
        raise NotFoundError(_unknown_version(session, address, known[0], found[known[0]]))
    raise NotFoundError(f"no pointer named {address!r}")


def trace(
    session: Session, address: str, as_of: datetime | None = None, max_depth: int | None = None
) -> Trace:
    """The lineage above the run ``address`` resolves to. ``Trace.output`` is the pointer addressed (the
    address itself for ``run:ID``). A pointer nobody has written gives an empty trace."""
    where = resolve(session, address, as_of)
    return trace_of(session, where, max_depth)


def trace_of(session: Session, where: Address, max_depth: int | None = None) -> Trace:
    output = where.pointer if where.pointer is not None else where.address
    if where.run is None:
        return Trace(output=output, nodes=(), edges=())
    return lineage.trace_from(session, where.run, output, max_depth)


def _run_id(address: str) -> int | None:
    digits = address[len(RUN_PREFIX) :] if address.startswith(RUN_PREFIX) else ""
    if not (digits.isascii() and digits.isdigit()):
        return None
    run_id = int(digits)
    if not 1 <= run_id <= valid.MAX_RUN_ID:
        raise NotFoundError(f"no run with id {digits}")
    return run_id


def _splits(address: str) -> list[tuple[str, str]]:
    """Every (pointer name, version) an ``@`` could split ``address`` into, within the limits of each."""
    out = []
    for i, ch in enumerate(address):
        if ch != "@":
            continue
        left, right = address[:i], address[i + 1 :]
        if not left.strip() or not right.strip():
            continue
        if len(left.encode()) <= valid.MAX_NAME_BYTES and len(right.encode()) <= valid.MAX_VERSION_BYTES:
            out.append((left, right))
    return out


def _plain(session: Session, name: str, pid: int, as_of: datetime | None) -> Address:
    query = select(run_outputs.c.run_id, run_outputs.c.version).where(run_outputs.c.pointer_id == pid)
    if as_of is not None:
        query = query.where(run_outputs.c.end_ts <= as_of)
    row = session.execute(
        query.order_by(run_outputs.c.end_ts.desc(), run_outputs.c.run_id.desc()).limit(1)
    ).first()
    if row is None and as_of is not None:
        raise NotFoundError(f"nothing had written {name!r} by {when(as_of)}")
    return Address(name, "pointer", row[0] if row else None, name, row[1] if row else None, as_of)


def _version_writers(session: Session, wanted: list[tuple[int, str, str]]) -> list[tuple[str, str, int]]:
    """(pointer name, version, latest writer) for each wanted (pointer id, name, version) someone wrote,
    in the order wanted: one index probe each (an address has few ``@``)."""
    o = run_outputs
    found = []
    for pid, name, version in wanted:
        run = session.execute(
            select(o.c.run_id)
            .where(o.c.pointer_id == pid, o.c.version == version)
            .order_by(o.c.end_ts.desc(), o.c.run_id.desc())
            .limit(1)
        ).scalar()
        if run is not None:
            found.append((name, version, run))
    return found


def _unknown_version(session: Session, address: str, name: str, pid: int) -> str:
    version = address[len(name) + 1 :]
    rows = session.execute(
        select(run_outputs.c.version)
        .where(run_outputs.c.pointer_id == pid, run_outputs.c.version.is_not(None))
        .order_by(run_outputs.c.end_ts.desc(), run_outputs.c.run_id.desc())
        .limit(SHOWN_VERSIONS * 20)
    ).scalars()
    known = list(dict.fromkeys(rows))[:SHOWN_VERSIONS]
    if not known:
        return f"no version {version!r} of {name!r}: no run wrote a version of it"
    more = ", ..." if len(known) == SHOWN_VERSIONS else ""
    return (
        f"no version {version!r} of {name!r}; its latest versions: "
        + ", ".join(repr(v) for v in known)
        + more
    )
