"""Components, tags, pointers and notes: the catalogue around the runs (flags: :mod:`.flags`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import CursorResult, Update, select, update
from sqlalchemy.orm import Session

from mltrace_core.entities.component import Component
from mltrace_core.errors import NotFoundError
from mltrace_core.models import (
    component_tags,
    components,
    flags,
    pointers,
    run_dependencies,
    run_inputs,
    run_outputs,
    run_tests,
    runs,
)
from mltrace_core.naming import canonical
from mltrace_core.queries import component_row_id, load_runs
from mltrace_core.write import add_tags, component_id, pointer_ids


def create_component(
    session: Session, name: str, description: str, owner: str, tags: tuple[str, ...]
) -> None:
    """Create ``name`` or, if it exists, update what is given (non-empty description/owner; add tags)."""
    cid = component_id(session, name, description, owner, tags)
    changes = {k: v for k, v in (("description", description), ("owner", owner)) if v}
    if changes:
        session.execute(update(components).where(components.c.id == cid).values(**changes))


def tag_component(session: Session, name: str, tags: tuple[str, ...]) -> None:
    add_tags(session, component_row_id(session, name), tags)


def list_components(
    session: Session, tag: str | None = None, owner: str | None = None, name: str | None = None
) -> list[Component]:
    """Components (by name), each with its tags, its number of runs (kept by the database: schema 0010)
    and its latest run."""
    latest = (
        select(runs.c.id)
        .where(runs.c.component_id == components.c.id)
        .order_by(runs.c.start_ts.desc(), runs.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = select(components, latest.label("latest")).order_by(components.c.name)
    if tag is not None:
        query = query.where(
            components.c.id.in_(select(component_tags.c.component_id).where(component_tags.c.tag == tag))
        )
    if owner is not None:
        query = query.where(components.c.owner == owner)
    if name is not None:
        query = query.where(components.c.name == name)
    rows = session.execute(query).all()
    tags: dict[int, list[str]] = {}
    if rows:
        for cid, t in session.execute(
            select(component_tags.c.component_id, component_tags.c.tag)
            .where(component_tags.c.component_id.in_([r.id for r in rows]))
            .order_by(component_tags.c.tag)
        ):
            tags.setdefault(cid, []).append(t)
    latest_runs = load_runs(session, [r.latest for r in rows if r.latest is not None])
    return [
        Component(
            name=r.name,
            description=r.description or "",
            owner=r.owner or "",
            tags=tuple(tags.get(r.id, ())),
            latest_run=latest_runs.get(r.latest),
            run_count=r.run_count,
        )
        for r in rows
    ]


def get_component(session: Session, name: str) -> Component:
    found = list_components(session, name=name)
    if not found:
        raise NotFoundError(f"no component named {name!r}")
    return found[0]


def list_tags(session: Session) -> list[str]:
    return list(
        session.execute(select(component_tags.c.tag).distinct().order_by(component_tags.c.tag)).scalars()
    )


def pointer(session: Session, name: str, create: bool, ptype: str | None) -> tuple[str, str | None, bool]:
    """(name, type, flagged) of pointer ``name`` (any spelling); ``create``: made (with ``ptype``) if missing."""
    name = canonical(name)
    query = select(pointers.c.name, pointers.c.type, pointers.c.flagged).where(pointers.c.name == name)
    row = session.execute(query).first()
    if row is None:
        if not create:
            raise NotFoundError(f"no pointer named {name!r}")
        pointer_ids(session, [(name, None, ptype)])
        row = session.execute(query).one()
    return row[0], row[1], bool(row[2])


def pointer_types(session: Session, names: Iterable[str]) -> dict[str, str | None]:
    names = list(names)
    if not names:
        return {}
    query = select(pointers.c.name, pointers.c.type).where(pointers.c.name.in_(names))
    return {name: ptype for name, ptype in session.execute(query)}


def writer_of_version(session: Session, version: str) -> str | None:
    """The name of the pointer most recently written at ``version``, whatever its name (0.17's
    ``auto_log`` finds the output a value came from by the value)."""
    query = (
        select(pointers.c.name)
        .join(run_outputs, run_outputs.c.pointer_id == pointers.c.id)
        .where(run_outputs.c.version == version)
        .order_by(run_outputs.c.end_ts.desc(), run_outputs.c.run_id.desc())
        .limit(1)
    )
    return session.execute(query).scalar()


def set_notes(session: Session, run_id: int, notes: str) -> str:
    done = _changed(session, update(runs).where(runs.c.id == run_id).values(notes=notes))
    if done == 0:
        raise NotFoundError(f"no run with id {run_id}")
    return notes


def delete_everything(session: Session) -> None:
    """Every component, run, pointer and edge deleted; the schema stays (0.17's ``clean_db``)."""
    for table in (
        flags,
        run_tests,
        run_dependencies,
        run_inputs,
        run_outputs,
        runs,
        component_tags,
        components,
        pointers,
    ):
        session.execute(table.delete())


def _changed(session: Session, statement: Update) -> int:
    """How many rows an UPDATE changed."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount
