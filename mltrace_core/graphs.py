"""A trace seen by component: one node per component with its runs, edges aggregated between components.

A 10,000-run lineage is unreadable run by run, but it is usually a few dozen components run many times (a
mapped task's 200 map indexes, a daily DAG's 30 days of features). Grouping by component keeps the shape
of the pipeline and says how many runs, which statuses and what time span hide behind each node. The
rule lives here, for the CLI's exports; the trace page applies the same rule in the browser
(``static/lineage.js``: it must also aggregate any mix of expanded and collapsed components, which no
server answer could list in advance), and a test runs both on the same traces and compares.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mltrace_core import formats
from mltrace_core.records import Trace, iso

UNKNOWN = "unknown"  # a status outside formats.STATUSES, as the pages show it


@dataclass(frozen=True)
class ComponentNode:
    """The runs of one component in a trace (in trace order), their status mix and time span."""

    name: str
    runs: tuple[int, ...]
    statuses: tuple[tuple[str, int], ...]  # (status, count), in formats.STATUSES order, then unknown
    start: datetime
    end: datetime
    depth: int  # the smallest depth of its runs: how close to the start of the trace it comes

    @property
    def span(self) -> float:
        """Seconds from its first run's start to its last run's end."""
        return (self.end - self.start).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "component": self.name,
            "run_count": len(self.runs),
            "runs": list(self.runs),
            "statuses": dict(self.statuses),
            "start": iso(self.start),
            "end": iso(self.end),
            "depth": self.depth,
        }


@dataclass(frozen=True)
class ComponentEdge:
    """Runs of ``consumer`` read pointers written by runs of ``producer``: ``runs`` distinct (consumer
    run, producer run) pairs, through ``pointers``. Consumer and producer are the same component when a
    component reads what its own earlier runs wrote (a warm-started model)."""

    consumer: str
    producer: str
    runs: int
    pointers: tuple[str, ...]  # sorted

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.consumer,
            "to": self.producer,
            "runs": self.runs,
            "pointers": list(self.pointers),
        }


@dataclass(frozen=True)
class ComponentGraph:
    """A trace by component: nodes in order of first appearance in the trace, edges sorted by name."""

    output: str
    direction: str
    nodes: tuple[ComponentNode, ...]
    edges: tuple[ComponentEdge, ...]
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "direction": self.direction,
            "by": "component",
            "nodes": [n.to_dict() for n in self.nodes],
            "edges": [e.to_dict() for e in self.edges],
            "truncated": self.truncated,
        }


def status_key(status: str) -> str:
    return status if status in formats.STATUSES else UNKNOWN


def by_component(trace: Trace) -> ComponentGraph:
    """Group ``trace``'s runs by component and aggregate its edges between components."""
    groups: dict[str, list[Any]] = {}
    component_of: dict[int, str] = {}
    for node in trace.nodes:
        groups.setdefault(node.run.component, []).append(node)
        component_of[node.run.id] = node.run.component
    nodes = []
    for name, members in groups.items():
        counts = dict.fromkeys((*formats.STATUSES, UNKNOWN), 0)
        for node in members:
            counts[status_key(node.run.status)] += 1
        nodes.append(
            ComponentNode(
                name=name,
                runs=tuple(node.run.id for node in members),
                statuses=tuple((s, n) for s, n in counts.items() if n),
                start=min(node.run.start for node in members),
                end=max(node.run.end for node in members),
                depth=min(node.depth for node in members),
            )
        )
    pairs: dict[tuple[str, str], set[tuple[int, int]]] = {}
    vias: dict[tuple[str, str], set[str]] = {}
    for edge in trace.edges:
        if edge.consumer not in component_of or edge.producer not in component_of:
            continue
        key = (component_of[edge.consumer], component_of[edge.producer])
        pairs.setdefault(key, set()).add((edge.consumer, edge.producer))
        vias.setdefault(key, set()).add(edge.via)
    edges = tuple(
        ComponentEdge(consumer, producer, len(pairs[(consumer, producer)]), tuple(sorted(vias[key])))
        for key in sorted(pairs)
        for consumer, producer in [key]
    )
    return ComponentGraph(trace.output, trace.direction, tuple(nodes), edges, trace.truncated)
