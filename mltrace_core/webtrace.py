"""mltrace 0.17's ``web_trace`` shape, built from a :class:`Trace`: the run that wrote the output, with its
outputs and then the runs it depends on as ``childNodes``, recursively (a run reached twice is the same
dict twice, so a diamond-shaped lineage costs one dict per run, not one per path)."""

from __future__ import annotations

from typing import Any

from mltrace_core.records import Trace

_ICONS = {"DATA": "database", "MODEL": "function", "ENDPOINT": "flow-end"}


def web_tree(graph: Trace, types: dict[str, str | None]) -> dict[str, Any]:
    producers: dict[int, set[int]] = {}
    for edge in graph.edges:
        producers.setdefault(edge.consumer, set()).add(edge.producer)
    built: dict[int, dict[str, Any]] = {}
    # Children before parents, deepest first: no recursion, whatever the depth of the lineage.
    for node in sorted(graph.nodes, key=lambda n: -n.depth):
        run = node.run
        tree: dict[str, Any] = {
            "id": f"componentrun_{run.id}",
            "label": run.component,
            "hasCaret": True,
            "isExpanded": True,
            "stale": list(run.stale),
            "childNodes": [],
        }
        for name in sorted(run.outputs):
            out = {"id": f"iopointer_{name}", "label": name, "hasCaret": False, "parent": tree["id"]}
            icon = _ICONS.get(types.get(name) or "")
            if icon:
                out["icon"] = icon
            tree["childNodes"].append(out)
        built[run.id] = tree
    for run_id, tree in built.items():
        tree["childNodes"] += [built[p] for p in sorted(producers.get(run_id, ())) if p in built]
    return built[graph.nodes[0].run.id]
