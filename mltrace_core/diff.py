"""Trace diff: two lineages matched run by run, what differs, and where the histories start to differ.

Matching. A run in both traces is paired with itself (and is unchanged, whatever else). The others are
paired within a component: by map index when both runs have one (an Airflow mapped task's slice;
``-1``, Airflow's "not mapped", is none), else by start order, then id. Runs left unpaired are
``only_a`` / ``only_b``.

Differences of a pair: the versions it read and wrote (``{pointer: version or None}`` maps), its code
version, notes, status and test results. Times alone are not a difference. An unversioned pointer carries
no evidence by itself (``None`` equals ``None``): a new upstream run with new data shows through the
runs that wrote versions, or not at all.

First divergences: the changed and one-sided runs none of whose transitive upstream runs (in their own
trace; for a pair, on either side) is changed or one-sided -- where the two histories start to differ.
A change further down (a new code version below an earlier divergence) is listed in ``changed`` only.

:func:`match` and :func:`compare` are pure functions of the traces; :func:`between` gathers what they
need from the store in one transaction.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from mltrace_core.addresses import resolve, trace_of
from mltrace_core.errors import NotFoundError
from mltrace_core.models import run_tests
from mltrace_core.queries import dialect_of, id_in, ids_text
from mltrace_core.records import Address, Run, RunChange, Trace, TraceDiff, TraceEdge, TraceNode
from mltrace_core.versions import pointer_versions

FIELDS = ("input_versions", "output_versions", "code_version", "notes", "status", "tests")
Facts = dict[int, dict[str, Any]]


def map_index(run: Run) -> int | None:
    ext = run.external
    return ext.map_index if ext is not None and ext.map_index is not None and ext.map_index >= 0 else None


def _in_order(group: list[Run]) -> list[Run]:
    return sorted(group, key=lambda r: (r.start, r.id))


def match(a: Trace, b: Trace) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """(pairs, only in a, only in b): pairs as (a run id, b run id), the same run paired with itself."""
    runs_a = {n.run.id: n.run for n in a.nodes}
    runs_b = {n.run.id: n.run for n in b.nodes}
    pairs = [(i, i) for i in sorted(runs_a.keys() & runs_b.keys())]
    left: dict[str, tuple[list[Run], list[Run]]] = defaultdict(lambda: ([], []))
    for side, found in enumerate((runs_a, runs_b)):
        for run_id, run in found.items():
            if run_id not in runs_a or run_id not in runs_b:
                left[run.component][side].append(run)
    only_a: list[int] = []
    only_b: list[int] = []
    for component in sorted(left):
        got, lost_a, lost_b = _pair_component(*left[component])
        pairs += got
        only_a += lost_a
        only_b += lost_b
    return sorted(pairs), sorted(only_a), sorted(only_b)


def _zipped(xs: list[Run], ys: list[Run]) -> list[tuple[int, int]]:
    """The first of each side paired, the second..., as far as the shorter side goes."""
    return [(x.id, y.id) for x, y in zip(xs, ys, strict=False)]


def _pair_component(in_a: list[Run], in_b: list[Run]) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    pairs: list[tuple[int, int]] = []
    indexed: dict[int, tuple[list[Run], list[Run]]] = defaultdict(lambda: ([], []))
    plain: tuple[list[Run], list[Run]] = ([], [])
    for side, group in enumerate((in_a, in_b)):
        for run in group:
            index = map_index(run)
            (plain if index is None else indexed[index])[side].append(run)
    rest: tuple[list[Run], list[Run]] = ([], [])  # indexed runs no run of the same index took
    for index in sorted(indexed):
        xs, ys = (_in_order(g) for g in indexed[index])
        pairs += _zipped(xs, ys)
        rest[0].extend(xs[len(ys) :])
        rest[1].extend(ys[len(xs) :])
    xs, ys = (_in_order(g) for g in plain)
    pairs += _zipped(xs, ys)
    # Runs without a map index left on one side pair, by start order, with indexed runs left on the other.
    extra_a, extra_b = xs[len(ys) :], ys[len(xs) :]
    other_a, other_b = _in_order(rest[0]), _in_order(rest[1])
    pairs += _zipped(extra_a, other_b)
    pairs += _zipped(other_a, extra_b)
    paired_a, paired_b = {x for x, _ in pairs}, {y for _, y in pairs}
    return pairs, [r.id for r in in_a if r.id not in paired_a], [r.id for r in in_b if r.id not in paired_b]


def differences(run_a: Run, run_b: Run, facts: Facts) -> tuple[tuple[str, Any, Any], ...]:
    """What differs between two runs, field by field (see :data:`FIELDS`)."""
    found = []
    for name in FIELDS:
        va, vb = _value(run_a, name, facts), _value(run_b, name, facts)
        if va != vb:
            found.append((name, va, vb))
    return tuple(found)


def _value(run: Run, name: str, facts: Facts) -> Any:
    """A field of a run: from the run record, else from the facts loaded for the diff (pointer versions,
    test results); pointers the facts do not know are read or written unversioned."""
    known = facts.get(run.id, {})
    if name in known:
        return known[name]
    if name == "input_versions":
        return dict.fromkeys(run.inputs)
    if name == "output_versions":
        return dict.fromkeys(run.outputs)
    return _plain(getattr(run, name, None))


def changed_pointers(a: Mapping[str, object], b: Mapping[str, object]) -> list[str]:
    """The pointers whose versions differ between two maps: those in both first (a new version of the
    same thing), then those on one side only, each group by name."""
    both = sorted(p for p in a.keys() & b.keys() if a[p] != b[p])
    return both + sorted(a.keys() ^ b.keys())


def _plain(value: Any) -> Any:
    """A value as JSON holds it: records by their ``to_dict``, tuples as lists."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def compare(
    a: Address, trace_a: Trace, b: Address, trace_b: Trace, load_facts: Callable[[set[int]], Facts]
) -> TraceDiff:
    """The diff of two traces. ``load_facts(run ids)``: what the run records do not hold, by run and
    field (``input_versions``, ``output_versions``, ``tests``); asked only for the runs of pairs of two
    different runs (the same run on both sides is unchanged)."""
    pairs, only_a, only_b = match(trace_a, trace_b)
    runs_a = {n.run.id: n.run for n in trace_a.nodes}
    runs_b = {n.run.id: n.run for n in trace_b.nodes}
    facts = load_facts({i for x, y in pairs if x != y for i in (x, y)})
    changed = []
    for x, y in pairs:
        if x != y:
            found = differences(runs_a[x], runs_b[y], facts)
            if found:
                changed.append(RunChange(x, y, runs_b[y].component, found))
    off_a = set(only_a) | {c.a for c in changed}
    off_b = set(only_b) | {c.b for c in changed}
    above_a, above_b = diverged_above(trace_a, off_a), diverged_above(trace_b, off_b)
    first: list[tuple[int | None, int | None]] = [(x, None) for x in only_a if not above_a[x]]
    first += [(None, y) for y in only_b if not above_b[y]]
    first += [(c.a, c.b) for c in changed if not above_a[c.a] and not above_b[c.b]]
    first.sort(key=lambda p: (p[0] if p[0] is not None else p[1], p[1] or 0))
    return TraceDiff(
        a=a,
        b=b,
        only_a=tuple(only_a),
        only_b=tuple(only_b),
        changed=tuple(changed),
        first_divergences=tuple(first),
        pairs=tuple(pairs),
        trace_a=trace_a,
        trace_b=trace_b,
    )


def diverged_above(graph: Trace, diverged: set[int]) -> dict[int, bool]:
    """For each run of ``graph``: is any of its transitive upstream runs in ``diverged``? Iterative
    (lineages are deeper than Python's recursion limit), each run visited once."""
    producers: dict[int, list[int]] = defaultdict(list)
    for edge in graph.edges:
        producers[edge.consumer].append(edge.producer)
    above: dict[int, bool] = {}
    for node in graph.nodes:
        stack = [node.run.id]
        while stack:
            run_id = stack[-1]
            if run_id in above:
                stack.pop()
                continue
            pending = [p for p in producers.get(run_id, ()) if p not in above]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            above[run_id] = any(p in diverged or above[p] for p in producers.get(run_id, ()))
    return above


def between(
    session: Session, a: str, b: str, as_of_a: datetime | None = None, as_of_b: datetime | None = None
) -> TraceDiff:
    """Resolve two addresses, trace both and compare them, in one transaction."""
    sides = []
    for address, as_of in ((a, as_of_a), (b, as_of_b)):
        where: Address = resolve(session, address, as_of)
        if where.run is None:
            raise NotFoundError(f"no run has written {where.pointer!r}: there is no lineage to compare")
        sides.append((where, trace_of(session, where)))
    (where_a, trace_a), (where_b, trace_b) = sides
    return compare(where_a, trace_a, where_b, trace_b, lambda ids: _facts(session, ids))


def _facts(session: Session, ids: set[int]) -> Facts:
    """The pointer versions and test results of runs, three queries whatever their number."""
    facts: Facts = {}
    for run_id, (read, wrote) in pointer_versions(session, ids).items():
        facts[run_id] = {"input_versions": read, "output_versions": wrote, "tests": []}
    if ids:
        query = (
            select(
                run_tests.c.run_id,
                run_tests.c.phase,
                run_tests.c.name,
                run_tests.c.passed,
                run_tests.c.message,
            )
            .where(id_in(dialect_of(session), run_tests.c.run_id))
            .order_by(run_tests.c.run_id, run_tests.c.position)
        )
        for run_id, phase, name, passed, message in session.execute(query, {"ids": ids_text(session, ids)}):
            facts[run_id]["tests"].append(
                {"phase": phase, "name": name, "passed": passed, "message": message}
            )
    return facts


def merged(result: TraceDiff) -> tuple[Trace, dict[int, str], set[int], dict[int, int]]:
    """Both lineages as one graph, for the views: a matched pair is one node (its B run's id and record),
    a one-sided run its own. Returns the graph (depth from either start), each node's mark
    (``"changed"``, ``"only_a"``, ``"only_b"``; unmarked: the same on both sides), the nodes that are
    first divergences, and, for each pair of two runs, B's id -> A's id."""
    assert result.trace_a is not None and result.trace_b is not None
    node_of: dict[int | None, int] = {
        x: y for x, y in result.pairs
    }  # an A run -> its node (B's id); one-sided A runs keep theirs
    runs = {n.run.id: n.run for n in result.trace_a.nodes if n.run.id not in node_of}
    runs.update({n.run.id: n.run for n in result.trace_b.nodes})
    edges = {(e.consumer, e.producer, e.via) for e in result.trace_b.edges}
    linked = {(c, p) for c, p, _ in edges}
    for e in result.trace_a.edges:  # A's edges where B has none between the same two nodes
        consumer, producer = node_of.get(e.consumer, e.consumer), node_of.get(e.producer, e.producer)
        if (consumer, producer) not in linked:
            edges.add((consumer, producer, e.via))
    marks = {c.b: "changed" for c in result.changed}
    marks.update(dict.fromkeys(result.only_a, "only_a"))
    marks.update(dict.fromkeys(result.only_b, "only_b"))
    # One side of each first divergence is a run.
    first = cast("set[int]", {b if b is not None else a for a, b in result.first_divergences})
    starts = [node_of.get(result.a.run, result.a.run), result.b.run]
    producers: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for edge in sorted(edges):
        producers[edge[0]].append(edge)
    depth = {s: 0 for s in starts if s is not None}
    queue = deque(depth)
    while queue:
        node = queue.popleft()
        for _, producer, _ in producers.get(node, ()):
            if producer not in depth:
                depth[producer] = depth[node] + 1
                queue.append(producer)
    order = sorted(depth, key=lambda r: (depth[r], -r))
    graph = Trace(
        output=result.trace_b.output,
        nodes=tuple(TraceNode(depth[r], runs[r]) for r in order),
        edges=tuple(TraceEdge(*edge) for node in order for edge in producers.get(node, ())),
    )
    partners = {y: x for x, y in result.pairs if x != y}
    return graph, marks, first, partners
