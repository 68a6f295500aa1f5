"""A trace by component, and as DOT, Mermaid and JSON files, on SQLite and PostgreSQL: the counts, and
files that parse whatever the names hold."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mltrace_core import export
from mltrace_core.cli import cli
from mltrace_core.graphs import by_component
from tests.support.exports import dot_graph, dot_labels, mermaid_problems

# Quotes, brackets, a backslash, markup, Mermaid's entity and edge syntax, unicode.
AWKWARD = ['ingest "raw" [v2]', "C:\\data\\raw.csv", "<script>alert(1)</script>", "a#quot;b|c`d", "ünï 数据"]


@pytest.fixture
def mapped(store, log) -> dict:
    """prep -> score x3 (map indexes; one failed) -> merge -> report, and train warm-started from its
    own earlier model: a component that reads itself."""
    ids = {"prep": log("prep", [], ["batch.csv"], 0, 1)}
    ids["score"] = [
        log("score", ["batch.csv"], [f"part-{i}.csv"], 2 + i, 3 + i, status="failed" if i == 1 else "success")
        for i in range(3)
    ]
    ids["train1"] = log("train", ["batch.csv"], ["model.pkl"], 2, 3)
    ids["train2"] = log("train", ["batch.csv", "model.pkl"], ["model.pkl"], 4, 5)
    ids["merge"] = log(
        "merge", ["part-0.csv", "part-1.csv", "part-2.csv", "model.pkl"], ["scores.csv"], 10, 12
    )
    return ids


def test_by_component_counts_statuses_span_and_edges(store, mapped):
    graph = by_component(store.trace("scores.csv"))
    nodes = {n.name: n for n in graph.nodes}
    assert [n.name for n in graph.nodes][0] == "merge"  # trace order: the start first
    assert set(nodes) == {"prep", "score", "train", "merge"}
    score = nodes["score"]
    assert sorted(score.runs) == sorted(mapped["score"])
    assert dict(score.statuses) == {"success": 2, "failed": 1}
    assert score.span == 3 * 60  # minute 2 to minute 5
    assert nodes["train"].runs == (mapped["train2"], mapped["train1"])
    edges = {(e.consumer, e.producer): e for e in graph.edges}
    assert set(edges) == {("merge", "score"), ("merge", "train"), ("score", "prep"), ("train", "prep"),
                          ("train", "train")}  # fmt: skip
    assert edges[("merge", "score")].runs == 3
    assert edges[("merge", "score")].pointers == ("part-0.csv", "part-1.csv", "part-2.csv")
    assert edges[("train", "prep")].runs == 2 and edges[("train", "prep")].pointers == ("batch.csv",)
    assert edges[("train", "train")].runs == 1  # the warm start
    as_dict = graph.to_dict()
    assert as_dict["by"] == "component" and as_dict["nodes"][0]["run_count"] == 1
    assert json.loads(export.to_json(store.trace("scores.csv"), "component")) == as_dict


def test_json_by_run_is_the_trace(store, mapped):
    graph = store.trace("scores.csv")
    assert json.loads(export.to_json(graph)) == graph.to_dict()


@pytest.mark.parametrize("by", export.BY)
def test_dot_parses_with_awkward_names(store, log, by):
    ids = [log(name, [AWKWARD[i - 1]] if i else [], [AWKWARD[i]], 2 * i) for i, name in enumerate(AWKWARD)]
    graph = store.trace(AWKWARD[-1])
    text = export.to_dot(graph, by)
    labels = dot_labels(text)
    assert labels["output"] == AWKWARD[-1]
    names = [label.split("\n")[0] for key, label in labels.items() if key != "output"]
    if by == "run":
        assert sorted(names) == sorted(f"{name} #{i}" for name, i in zip(AWKWARD, ids, strict=True))
    else:
        assert sorted(names) == sorted(f"{name} ×1" for name in AWKWARD)
    assert len(dot_graph(text).get_edges()) == len(AWKWARD)  # four links and the output


@pytest.mark.parametrize("by", export.BY)
def test_mermaid_has_its_grammar_shape_with_awkward_names(store, log, by):
    for i, name in enumerate(AWKWARD):
        log(name, [AWKWARD[i - 1]] if i else [], [AWKWARD[i]], 2 * i)
    text = export.to_mermaid(store.trace(AWKWARD[-1]), by)
    assert mermaid_problems(text) == []
    lines = text.splitlines()
    assert "#lt;script#gt;alert(1)#lt;/script#gt;" in text and "#35;quot;" in text
    assert sum(" --> " in line or "-->|" in line for line in lines) == len(AWKWARD)


def test_cli_exports(store, mapped):
    def mltrace(*args, code=0):
        result = CliRunner().invoke(cli, ["--db-uri", store.uri, *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    dot = mltrace("trace", "scores.csv", "--format", "dot", "--by", "component")
    assert dot == export.to_dot(store.trace("scores.csv"), "component")
    assert "score ×3" in dot and "2 success · 1 failed" in dot
    assert mltrace("trace", "scores.csv", "--format", "mermaid") == export.to_mermaid(
        store.trace("scores.csv")
    )
    by_run = json.loads(mltrace("trace", "scores.csv", "--format", "json"))
    assert by_run == json.loads(mltrace("trace", "scores.csv", "--json"))
    assert json.loads(
        mltrace("trace", "scores.csv", "--depth", "1", "--format", "json", "--by", "component")
    )["truncated"]
    down = mltrace("downstream", "batch.csv", "--format", "dot", "--by", "component")
    assert '"output" -> "c0"' in down and "Downstream of batch.csv" in down
    assert "--by needs --format" in mltrace("trace", "scores.csv", "--by", "component", code=2)
