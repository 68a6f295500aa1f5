"""Trace (upstream), downstream and review: one recursive query each over the lineage edges.

The recursive CTE collects the set of reachable runs (``UNION`` deduplicates, so a run reached by many
paths is visited once: the cost is set by the size of the answer, not by the number of paths). Depths are
then assigned by a breadth-first pass in Python over the edges the same query returns: a run's depth is
its shortest distance from the start.
"""

from __future__ import annotations

from collections import defaultdict, deque
from functools import cache
from typing import Any, cast

from sqlalchemy import TextClause, select, text
from sqlalchemy.orm import Session

from mltrace_core import fasttrace
from mltrace_core.errors import NotFoundError
from mltrace_core.models import pointers, run_inputs, run_outputs
from mltrace_core.naming import canonical
from mltrace_core.queries import INDEX_WALK as INDEX_WALK  # impact.py's walk uses them too
from mltrace_core.queries import PLANNER_DEFAULTS as PLANNER_DEFAULTS
from mltrace_core.queries import dialect_of, ids_text, load_runs, plain_rows
from mltrace_core.records import Address, Trace, TraceEdge, TraceNode

# The start runs, bound as one parameter whatever their number: (ordinal, run id) rows.
_STARTS = {
    "postgresql": "SELECT t.ord, t.run_id FROM unnest(CAST(:starts AS BIGINT[])) WITH ORDINALITY AS t(run_id, ord)",
    "sqlite": "SELECT key AS ord, value AS run_id FROM json_each(:starts)",
}
# (column we are at, column we go to): upstream walks consumer -> producer.
_DIRECTIONS = {
    "upstream": ("consumer_run_id", "producer_run_id"),
    "downstream": ("producer_run_id", "consumer_run_id"),
}


@cache
def _edges_sql(dialect: str, direction: str) -> TextClause:
    here, there = _DIRECTIONS[direction]
    return text(
        f"""
        WITH RECURSIVE reach(run_id) AS (
            SELECT s.run_id FROM ({_STARTS[dialect]}) AS s
            UNION
            SELECT d.{there} FROM run_dependencies d JOIN reach r ON d.{here} = r.run_id
        )
        SELECT d.consumer_run_id, d.producer_run_id, p.name
        FROM reach r
        JOIN run_dependencies d ON d.{here} = r.run_id
        JOIN pointers p ON p.id = d.pointer_id
        """
    )


@cache
def _shared_sql(dialect: str) -> TextClause:
    # Per start (ordinal), every run in its upstream trace; then how many traces each run is in.
    return text(
        f"""
        WITH RECURSIVE reach(ord, run_id) AS (
            SELECT s.ord, s.run_id FROM ({_STARTS[dialect]}) AS s
            UNION
            SELECT r.ord, d.producer_run_id FROM run_dependencies d JOIN reach r ON d.consumer_run_id = r.run_id
        )
        SELECT run_id, COUNT(*) AS n FROM reach GROUP BY run_id ORDER BY n DESC, run_id DESC
        """
    )


def pointer_id(session: Session, name: str) -> int:
    """The id of the pointer ``name`` names, in any of its spellings (:func:`naming.canonical`)."""
    name = canonical(name)
    pid = session.execute(select(pointers.c.id).where(pointers.c.name == name)).scalar()
    if pid is None:
        raise NotFoundError(f"no pointer named {name!r}")
    return cast(int, pid)


def latest_writer(session: Session, pid: int) -> int | None:
    """The run that wrote the pointer last (latest end time; the later-logged on a tie)."""
    return session.execute(
        select(run_outputs.c.run_id)
        .where(run_outputs.c.pointer_id == pid)
        .order_by(run_outputs.c.end_ts.desc(), run_outputs.c.run_id.desc())
        .limit(1)
    ).scalar()


def trace_from(session: Session, start: int, output: str, max_depth: int | None = None) -> Trace:
    """The lineage above run ``start`` (depth 0): transitively, the runs that wrote what it read.
    ``output`` names what the trace is of; which run starts it is the address's business
    (:mod:`mltrace_core.addresses`: the latest version, a given version, a given run, as of a time)."""
    if max_depth is None:  # the whole trace: one statement (mltrace_core/fasttrace.py)
        return fasttrace.trace(session, start, output)
    return walk(session, output, [start], "upstream", max_depth)


def trace_data_of(session: Session, where: Address, max_depth: int | None = None) -> dict[str, Any]:
    """``addresses.trace_of(session, where, max_depth).to_dict()``; a whole trace is built from plain rows,
    without the records (for the web API: a 10,000-run trace)."""
    output = where.pointer if where.pointer is not None else where.address
    if where.run is None:
        return Trace(output=output, nodes=(), edges=()).to_dict()
    if max_depth is not None:
        return trace_from(session, where.run, output, max_depth).to_dict()
    return fasttrace.trace_data(session, where.run, output)


def downstream(session: Session, pointer: str, max_depth: int | None = None) -> Trace:
    """Impact analysis: every run that read ``pointer`` (any version; depth 0) and, transitively, every
    run that read what those wrote."""
    pid = pointer_id(session, pointer)
    readers = list(
        session.execute(select(run_inputs.c.run_id).where(run_inputs.c.pointer_id == pid)).scalars()
    )
    if not readers:
        return Trace(output=pointer, nodes=(), edges=(), direction="downstream")
    return walk(session, pointer, readers, "downstream", max_depth)


def shared_runs(session: Session, starts: list[int]) -> list[tuple[int, int]]:
    """(run id, number of the starts' traces it is in), most shared first."""
    if not starts:
        return []
    return _recursive(session, _shared_sql(dialect_of(session)), starts)


def _recursive(session: Session, sql: TextClause, starts: list[int]) -> list[tuple[Any, ...]]:
    """Run a recursive walk from ``starts``; rows as plain tuples (SQLAlchemy rows compare in Python,
    and a big trace sorts tens of thousands of edges)."""
    postgres = dialect_of(session) == "postgresql"
    if postgres:
        # PostgreSQL plans the recursive step once, for a guessed ten-row frontier, and on small or
        # freshly loaded tables picks a hash join over a full scan: repeated at every level of a
        # 1,000-deep lineage that is 10x slower than walking the indexes, which is always right here.
        session.execute(text(INDEX_WALK))
    rows = plain_rows(session, sql, {"starts": ids_text(session, starts)})
    if postgres:
        session.execute(text(PLANNER_DEFAULTS))
    return rows


def walk(session: Session, output: str, starts: list[int], direction: str, max_depth: int | None) -> Trace:
    edges = _recursive(session, _edges_sql(dialect_of(session), direction), starts)
    far = 1 if direction == "upstream" else 0  # which end of a consumer->producer edge is further away
    out_edges: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for edge in edges:
        out_edges[edge[1 - far]].append(edge)
    depth = dict.fromkeys(starts, 0)
    queue = deque(starts)
    truncated = False
    while queue:
        node = queue.popleft()
        for edge in out_edges.get(node, ()):
            nxt = edge[far]
            if nxt in depth:
                continue
            if max_depth is not None and depth[node] >= max_depth:
                truncated = True
                continue
            depth[nxt] = depth[node] + 1
            queue.append(nxt)
    # A whole upstream trace holds every dependency of every node: its edges stand in for that query.
    complete = direction == "upstream" and not truncated
    loaded = load_runs(session, depth, edges if complete else None)
    order = [r for _, _, r in sorted((d, -r, r) for r, d in depth.items())]  # by depth, newest first
    nodes = tuple(TraceNode(depth[r], loaded[r]) for r in order)
    # Edges grouped by their near end in trace order, sorted within a node: one sort, not one per node.
    position = {r: k for k, r in enumerate(order)}
    near = 1 - far
    kept = tuple(
        TraceEdge(*edge)
        for edge in sorted(
            (e for e in edges if e[far] in depth and e[near] in position),
            key=lambda e: (position[e[near]], e),
        )
    )
    return Trace(output=output, nodes=nodes, edges=kept, truncated=truncated, direction=direction)
