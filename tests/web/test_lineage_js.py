"""The trace page's model (static/lineage.js) follows the core's rules: the same component view, byte for
byte the same DOT and Mermaid as `mltrace trace --format`, and the critical path a generated lineage was
built to have. Run in Node.js on traces from real stores (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from mltrace_core import export
from mltrace_core.graphs import by_component
from tests.support.js import run_js
from tests.support.lineages import layered
from tests.web.conftest import COMPONENT, EVIL, ODD, S3

FILES = ("formats.js", "lineage.js")
VIEWS = """(() => {
  const L = MltraceLineage, idx = L.index(DATA);
  const runs = L.view(idx, {mode: 'run'}), comps = L.view(idx, {mode: 'component'});
  return {byComponent: L.byComponent(DATA), dot: [L.toDot(DATA, runs), L.toDot(DATA, comps)],
          mermaid: [L.toMermaid(DATA, runs), L.toMermaid(DATA, comps)], critical: L.criticalPath(idx)};
})()"""


def check_views(graph) -> dict:
    got = run_js(VIEWS, FILES, graph.to_dict())
    assert got["byComponent"] == by_component(graph).to_dict()
    assert got["dot"] == [export.to_dot(graph, "run"), export.to_dot(graph, "component")]
    assert got["mermaid"] == [export.to_mermaid(graph, "run"), export.to_mermaid(graph, "component")]
    return got


def test_awkward_names_give_the_same_views_and_files(store, lineage):
    for name in (ODD, "scores/3.csv"):
        check_views(store.trace(name))
    down = check_views(store.downstream(S3))["byComponent"]
    assert down["direction"] == "downstream"
    assert {n["component"] for n in down["nodes"]} == {"clean", "churn.train", "churn.score"}
    assert COMPONENT in check_views(store.trace(EVIL))["dot"][1]


def test_layered_lineage_component_view_and_critical_path(store):
    made = layered(store, layers=6, width=8, prefix="lay")
    got = check_views(store.trace(made.output))
    nodes = {n["component"]: n for n in got["byComponent"]["nodes"]}
    assert len(nodes) == 7 and nodes[made.component(1)]["statuses"] == {"success": 7, "failed": 1}
    assert all(nodes[made.component(k)]["run_count"] == 8 for k in range(6))
    assert tuple(got["critical"]["runs"]) == made.critical
    assert got["critical"]["seconds"] == 6 * 10 * 60 + 60  # the first slow run's start to the report's end


def test_truncated_trace_views_agree(store):
    made = layered(store, layers=5, width=4, prefix="cut")
    check_views(store.trace(made.output, 2))


@pytest.mark.parametrize(
    "query, kinds",
    [("#1", ["run"]), ("layer1", ["component"]), ("s/0/1.csv", ["pointer"]), ("nothing-like-it", [])],
)
def test_search_finds_runs_components_and_pointers(store, query, kinds):
    made = layered(store, layers=3, width=3, prefix="s")
    found = run_js(
        f"MltraceLineage.search(MltraceLineage.index(DATA), {query!r})",
        FILES,
        store.trace(made.output).to_dict(),
    )
    assert [f["kind"] for f in found] == kinds


def test_paths_from_a_node_go_both_ways(store):
    made = layered(store, layers=4, width=3, prefix="p", fan_in=1)  # four separate chains into the report
    trace = store.trace(made.output).to_dict()
    key = f"r{made.ids[(1, 0)]}"
    got = run_js(
        f"""(() => {{ const L = MltraceLineage, v = L.view(L.index(DATA), {{mode: 'run'}});
        const p = L.paths(v, {key!r}); return {{producers: [...p.producers], consumers: [...p.consumers]}}; }})()""",
        FILES,
        trace,
    )
    assert got["producers"] == [f"r{made.ids[(0, 0)]}"]
    assert sorted(got["consumers"]) == sorted(
        [f"r{made.ids[(2, 0)]}", f"r{made.ids[(3, 0)]}", f"r{made.report}"]
    )


def test_runs_beyond_the_depth_are_counted_on_the_near_side(store):
    made = layered(store, layers=3, width=2, prefix="d", fan_in=2)
    hidden = """(() => { const L = MltraceLineage;
      return [...L.view(L.index(DATA), {mode: 'run', depth: 0}).hidden].sort(); })()"""
    up = run_js(hidden, FILES, store.trace(made.output).to_dict())
    assert up == [[f"r{made.report}", 2]]  # the report's two producers lie beyond depth 0
    down = run_js(hidden, FILES, store.downstream("d/0/0.csv").to_dict())
    readers = sorted(f"r{made.ids[(1, i)]}" for i in range(2))  # both layer-1 runs read d/0/0.csv
    assert down == [[key, 2] for key in readers]  # each has two consumers in layer 2, beyond depth 0
