"""``mltrace export --openlineage``: every stored run as OpenLineage events, page by page.

A store of any size streams in constant memory: runs are read in pages of :data:`PAGE` by id (keyset
pagination: each page is an index range scan, whatever its position), each page in three queries (the
runs, their inputs, their outputs; the tags of the page's components in a fourth), and turned into
events (:mod:`mltrace_core.olevents`) before the next page is read. Each page is one bounded store call.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Select, Table, bindparam, func, select
from sqlalchemy.orm import Session

from mltrace_core import olevents
from mltrace_core.models import component_tags, components, pointers, run_inputs, run_outputs, runs
from mltrace_core.records import ExternalIdentity

if TYPE_CHECKING:
    from mltrace_core.store import Store

_S = TypeVar("_S", bound="Select[Any]")

PAGE = 2000  # runs per page: a few MB of events, and few enough round trips

_COLUMNS = (
    runs.c.id,
    runs.c.key,
    runs.c.component_id,
    components.c.name,
    runs.c.start_ts,
    runs.c.end_ts,
    runs.c.status,
    runs.c.notes,
    runs.c.code_version,
    runs.c.error,
    runs.c.ext_dag_id,
    runs.c.ext_run_id,
    runs.c.ext_task_id,
    runs.c.ext_try_number,
    runs.c.ext_map_index,
    runs.c.ext_url,
    runs.c.ext_ol_run_id,
    runs.c.ext_ol_namespace,
    runs.c.ext_ol_parent_run_id,
)


def _selected(query: _S, since: datetime | None, component: str | None) -> _S:
    if since is not None:
        query = query.where(runs.c.start_ts >= since)
    if component is not None:
        query = query.where(components.c.name == component)
    return query


def count(session: Session, since: datetime | None = None, component: str | None = None) -> int:
    """How many runs an export with these filters writes (for the progress bar)."""
    query = select(func.count()).select_from(runs.join(components, components.c.id == runs.c.component_id))
    return session.execute(_selected(query, since, component)).scalar_one()


def page(
    session: Session,
    after: int,
    namespace: str,
    since: datetime | None = None,
    component: str | None = None,
    limit: int = PAGE,
) -> tuple[list[dict[str, Any]], int | None]:
    """The events of the next ``limit`` runs with ids above ``after`` (in id order), and the last id read
    (``None``: no run was left)."""
    query = (
        select(*_COLUMNS)
        .join(components, components.c.id == runs.c.component_id)
        .where(runs.c.id > after)
        .order_by(runs.c.id)
        .limit(limit)
    )
    rows = session.execute(_selected(query, since, component)).all()
    if not rows:
        return [], None
    ids = [row.id for row in rows]
    ins, outs = _pointers(session, run_inputs, ids), _pointers(session, run_outputs, ids)
    tags = _tags(session, {row.component_id for row in rows})
    events: list[dict[str, Any]] = []
    for row in rows:
        external = None
        if row.ext_dag_id is not None or row.ext_ol_run_id is not None or row.ext_url is not None:
            external = ExternalIdentity(*row[10:])
        events += olevents.run_events(
            run_id=row.id,
            key=row.key,
            component=row.name,
            start=row.start_ts,
            end=row.end_ts,
            status=row.status,
            inputs=ins.get(row.id, []),
            outputs=outs.get(row.id, []),
            namespace=namespace,
            tags=tags.get(row.component_id, ()),
            notes=row.notes or "",
            code_version=row.code_version,
            error=row.error,
            external=external,
        )
    return events, ids[-1]


def _pointers(session: Session, table: Table, ids: list[int]) -> dict[int, list[tuple[str, str | None]]]:
    query = (
        select(table.c.run_id, pointers.c.name, table.c.version)
        .join(pointers, pointers.c.id == table.c.pointer_id)
        .where(table.c.run_id.in_(bindparam("ids", expanding=True)))
        .order_by(table.c.run_id, pointers.c.name)
    )
    found: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    for run_id, name, version in session.execute(query, {"ids": ids}):
        found[run_id].append((name, version))
    return found


def _tags(session: Session, component_ids: set[int]) -> dict[int, tuple[str, ...]]:
    query = (
        select(component_tags.c.component_id, component_tags.c.tag)
        .where(component_tags.c.component_id.in_(bindparam("ids", expanding=True)))
        .order_by(component_tags.c.component_id, component_tags.c.tag)
    )
    found: dict[int, list[str]] = defaultdict(list)
    for cid, tag in session.execute(query, {"ids": sorted(component_ids)}):
        found[cid].append(tag)
    return {cid: tuple(tags) for cid, tags in found.items()}


def events(
    store: Store,
    namespace: str,
    since: datetime | str | None = None,
    component: str | None = None,
    limit: int = PAGE,
) -> Iterator[list[dict[str, Any]]]:
    """Every page of events of ``store`` (a :class:`~mltrace_core.Store`), one bounded call per page."""
    after = 0
    while True:
        batch, last = store.openlineage_page(after, namespace, since, component, limit)
        if last is None:
            return
        yield batch
        after = last
