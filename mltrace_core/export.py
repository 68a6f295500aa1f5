"""A trace as a file for a design doc, a PR or a ticket: Graphviz DOT, Mermaid, or JSON; by run or by
component (:func:`mltrace_core.graphs.by_component`).

Both text formats are built from one neutral list of nodes and edges (:func:`view`), so they say the same
thing; the trace page exports its current view with the same rules (``static/lineage.js``), and a test
holds the two byte for byte equal. Names are arbitrary user text: DOT gets them as quoted strings with
``\\`` and ``"`` escaped; Mermaid as quoted labels with its entity codes for every character its parser or
its HTML labels would read (``#``, ``"``, ``<``, ``>``, ``&``, `````, ``|``). Status is in the label's
text, not only in the colour.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from mltrace_core import formats
from mltrace_core.graphs import UNKNOWN, by_component, status_key
from mltrace_core.records import Trace

FORMATS = ("dot", "mermaid", "json")
BY = ("run", "component")
OUTPUT_ID = "output"
# The light theme's colours of mltrace.css: (border, fill) per status.
COLOURS = {
    formats.SUCCESS: ("#1a7f37", "#e9f7ee"),
    formats.FAILED: ("#cf222e", "#fdecee"),
    formats.ABORTED: ("#cf222e", "#f6f0f0"),
    formats.RUNNING: ("#b26b00", "#fff5e0"),
    UNKNOWN: ("#6e7781", "#f1f3f5"),
}


@dataclass(frozen=True)
class Node:
    id: str
    lines: tuple[str, ...]
    kind: str  # "run", "component" or "pointer"
    status: str  # a key of COLOURS ("" for the pointer)


@dataclass(frozen=True)
class Edge:
    source: str  # data flows source -> target: producer -> consumer
    target: str
    label: str
    pointers: tuple[str, ...]


def pointer_summary(pointers: Sequence[str], runs: int = 1) -> str:
    """One or two pointer names, else their number; with the number of run pairs when more than one."""
    text = ", ".join(pointers) if len(pointers) <= 2 else f"{len(pointers)} pointers"
    return text + (f" ×{runs}" if runs > 1 else "")


def status_mix(statuses: dict[str, int]) -> str:
    return " · ".join(f"{n} {s}" for s, n in statuses.items() if n)


def worst(statuses: dict[str, int]) -> str:
    """The status a group is coloured by: failed, aborted, running, unknown, then success."""
    for status in (formats.FAILED, formats.ABORTED, formats.RUNNING, UNKNOWN, formats.SUCCESS):
        if statuses.get(status):
            return status
    return UNKNOWN


def view(trace: Trace, by: str = "run") -> tuple[list[Node], list[Edge]]:
    """The nodes and edges both text formats draw: the pointer, then runs (or components) in trace
    order; edges producer -> consumer, one per pair, in the order the trace lists them."""
    upstream = trace.direction == "upstream"
    nodes = [Node(OUTPUT_ID, (trace.output,), "pointer", "")] if trace.nodes else []
    edges: list[Edge] = []
    if by == "component":
        graph = by_component(trace)
        ids = {c.name: f"c{i}" for i, c in enumerate(graph.nodes)}
        for c in graph.nodes:
            counts = dict(c.statuses)
            lines = (f"{c.name} ×{len(c.runs)}", status_mix(counts), f"span {formats.duration(c.span)}")
            nodes.append(Node(ids[c.name], lines, "component", worst(counts)))
        for e in graph.edges:
            label = pointer_summary(e.pointers, e.runs)
            edges.append(Edge(ids[e.producer], ids[e.consumer], label, e.pointers))
        roots = [ids[c.name] for c in graph.nodes if c.depth == 0]
    else:
        for n in trace.nodes:
            run = n.run
            sub = " · ".join(x for x in (run.status, formats.duration(run.duration)) if x)
            nodes.append(
                Node(f"r{run.id}", (f"{run.component} #{run.id}", sub), "run", status_key(run.status))
            )
        pairs: dict[tuple[int, int], list[str]] = {}
        for edge in trace.edges:
            vias = pairs.setdefault((edge.producer, edge.consumer), [])
            if edge.via not in vias:
                vias.append(edge.via)
        for (producer, consumer), vias in pairs.items():
            edges.append(Edge(f"r{producer}", f"r{consumer}", pointer_summary(vias), tuple(vias)))
        roots = [f"r{n.run.id}" for n in trace.nodes if n.depth == 0]
    for root in dict.fromkeys(roots):
        edges.append(Edge(root, OUTPUT_ID, "", ()) if upstream else Edge(OUTPUT_ID, root, "", ()))
    return nodes, edges


def _tooltip(pointers: tuple[str, ...], shown: int = 20) -> str:
    more = len(pointers) - shown
    return ", ".join(pointers[:shown]) + (f" and {more} more" if more > 0 else "")


def dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot_quote(text: str) -> str:
    return '"' + dot_escape(text) + '"'


def to_dot(trace: Trace, by: str = "run") -> str:
    nodes, edges = view(trace, by)
    title = ("Trace of " if trace.direction == "upstream" else "Downstream of ") + trace.output
    out = [
        "digraph lineage {",
        f"  graph [rankdir=LR, labelloc=t, label={dot_quote(title)}];",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9, color="#8994a3"];',
    ]
    for n in nodes:
        label = '"' + "\\n".join(dot_escape(line) for line in n.lines) + '"'  # \n: DOT's line break
        if n.kind == "pointer":
            attrs = f'label={label}, shape=note, style="filled", fillcolor="#ffffff"'
        else:
            stroke, fill = COLOURS[n.status]
            attrs = f'label={label}, color="{stroke}", fillcolor="{fill}"'
            if n.kind == "component":
                attrs += ", peripheries=2"
        out.append(f"  {dot_quote(n.id)} [{attrs}];")
    for e in edges:
        attrs = f" [label={dot_quote(e.label)}, tooltip={dot_quote(_tooltip(e.pointers))}]" if e.label else ""
        out.append(f"  {dot_quote(e.source)} -> {dot_quote(e.target)}{attrs};")
    out.append("}")
    return "\n".join(out) + "\n"


# Mermaid reads "#name;" / "#123;" as an entity code: every character below goes in as one.
_MERMAID = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;", "|": "#124;"}


def mermaid_text(text: str) -> str:
    return "".join(_MERMAID.get(ch, ch) for ch in text)


def to_mermaid(trace: Trace, by: str = "run") -> str:
    nodes, edges = view(trace, by)
    out = ["flowchart LR"]
    for n in nodes:
        label = '"' + "<br/>".join(mermaid_text(line) for line in n.lines) + '"'
        if n.kind == "pointer":
            out.append(f"  {n.id}[/{label}/]")
        elif n.kind == "component":
            out.append(f"  {n.id}[[{label}]]:::{n.status}")
        else:
            out.append(f"  {n.id}[{label}]:::{n.status}")
    for e in edges:
        arrow = f'-->|"{mermaid_text(e.label)}"|' if e.label else "-->"
        out.append(f"  {e.source} {arrow} {e.target}")
    for status, (stroke, fill) in COLOURS.items():
        out.append(f"  classDef {status} fill:{fill},stroke:{stroke},color:#1f2933")
    return "\n".join(out) + "\n"


def to_json(trace: Trace, by: str = "run") -> str:
    """``--json``'s trace (by run), or :class:`~mltrace_core.graphs.ComponentGraph`'s dict."""
    data = by_component(trace).to_dict() if by == "component" else trace.to_dict()
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def export(trace: Trace, fmt: str, by: str = "run") -> str:
    """``trace`` in ``fmt`` (one of :data:`FORMATS`), by run or by component."""
    if fmt not in FORMATS or by not in BY:
        raise ValueError(f"format must be one of {FORMATS} and by one of {BY}")
    return {"dot": to_dot, "mermaid": to_mermaid, "json": to_json}[fmt](trace, by)
