"""The lineage rule, case by case, on SQLite and PostgreSQL (ARCHITECTURE.md, 'The data')."""

from __future__ import annotations

import pytest

from mltrace_core import NotFoundError


def deps(store, run_id) -> tuple[int, ...]:
    return store.get_component_run_information(run_id).dependencies


def traced(store, output, **kw) -> list[tuple[int, int]]:
    """(depth, run id) pairs of a trace, in trace order."""
    return [(n.depth, n.run.id) for n in store.trace(output, **kw).nodes]


def test_chain_trace_has_depths_and_labelled_edges(store, log):
    a = log("ingest", [], ["raw.csv"], 0)
    b = log("featurize", ["raw.csv"], ["features.parquet"], 2)
    c = log("train", ["features.parquet", "params.yaml"], ["model.pkl"], 4)
    graph = store.trace("model.pkl")
    assert [(n.depth, n.run.id) for n in graph.nodes] == [(0, c), (1, b), (2, a)]
    assert [(e.consumer, e.producer, e.via) for e in graph.edges] == [
        (c, b, "features.parquet"),
        (b, a, "raw.csv"),
    ]
    assert graph.truncated is False
    assert deps(store, c) == (b,)  # params.yaml has no producer: no edge, no error


def test_reader_depends_on_latest_writer_that_ended_before_it_started(store, log):
    w1 = log("write", [], ["p"], 0, 10)
    w2 = log("write", [], ["p"], 11, 20)
    r1 = log("read", ["p"], [], 15, 16)
    r2 = log("read", ["p"], [], 25, 26)
    assert deps(store, r1) == (w1,)
    assert deps(store, r2) == (w2,)


def test_writer_ending_exactly_at_reader_start_is_upstream(store, log):
    w = log("write", [], ["p"], 0, 10)
    r = log("read", ["p"], [], 10, 12)
    assert deps(store, r) == (w,)


def test_run_still_going_when_reader_started_is_not_upstream(store, log):
    old = log("write", [], ["p"], 0, 5)
    long = log("write", [], ["p"], 6, 30)  # still running at minute 15
    r = log("read", ["p"], [], 15, 16)
    assert deps(store, r) == (old,)
    assert long not in deps(store, r)


def test_reader_with_no_finished_writer_has_no_dependency(store, log):
    log("write", [], ["p"], 10, 20)
    r = log("read", ["p"], [], 5, 6)
    assert deps(store, r) == ()


def test_version_read_selects_the_writer_of_exactly_that_version(store, log):
    v1 = log("write", [], [("p", "sha:1")], 0, 10)
    log("write", [], [("p", "sha:2")], 11, 20)
    r = log("read", [("p", "sha:1")], [], 25, 26)
    assert deps(store, r) == (v1,)


def test_version_read_with_no_matching_versioned_writer_falls_back_to_unversioned(store, log):
    unversioned = log("write", [], ["p"], 0, 10)
    log("write", [], [("p", "sha:2")], 11, 20)
    r = log("read", [("p", "sha:9")], [], 25, 26)
    assert deps(store, r) == (unversioned,)


def test_version_on_one_side_only_uses_time(store, log):
    log("write", [], [("p", "sha:1")], 0, 10)
    w2 = log("write", [], [("p", "sha:2")], 11, 20)
    r = log("read", ["p"], [], 25, 26)  # read without a version: the latest writer
    assert deps(store, r) == (w2,)
    w3 = log("write", [], ["q"], 0, 10)
    r2 = log("read", [("q", "etag-7")], [], 25, 26)  # writer without a version: the latest writer
    assert deps(store, r2) == (w3,)


def test_version_written_after_reader_started_is_not_upstream(store, log):
    log("write", [], [("p", "sha:1")], 0, 10)
    log("write", [], [("p", "sha:2")], 30, 40)
    r = log("read", [("p", "sha:2")], [], 25, 26)
    assert deps(store, r) == ()  # sha:2 did not exist yet at minute 25


def test_trace_starts_from_latest_writer_of_output(store, log):
    log("train", [], ["model.pkl"], 0, 10)
    latest = log("train", [], ["model.pkl"], 20, 30)
    assert traced(store, "model.pkl") == [(0, latest)]


def test_rerun_traces_only_the_version_that_was_read(store, log):
    # Two runs of the same pipeline: the second trace follows the second run only.
    a1 = log("ingest", [], ["raw"], 0)
    b1 = log("featurize", ["raw"], ["feat"], 2)
    c1 = log("train", ["feat"], ["model"], 4)
    a2 = log("ingest", [], ["raw"], 10)
    b2 = log("featurize", ["raw"], ["feat"], 12)
    c2 = log("train", ["feat"], ["model"], 14)
    assert traced(store, "model") == [(0, c2), (1, b2), (2, a2)]
    # A newer writer of an input, after the consumer started, changes nothing.
    a3 = log("ingest", [], ["raw"], 20)
    assert traced(store, "model") == [(0, c2), (1, b2), (2, a2)]
    assert deps(store, c1) == (b1,) and deps(store, b1) == (a1,)
    assert a3 not in {n.run.id for n in store.trace("model").nodes}


def test_late_logged_run_takes_its_place(store, log):
    old = log("write", [], ["p"], 0, 5)
    reader = log("read", ["p"], ["q"], 30, 31)
    assert deps(store, reader) == (old,)
    late = log("write", [], ["p"], 10, 20)  # replayed after an outage: ended before reader started
    assert deps(store, reader) == (late,)
    assert traced(store, "q") == [(0, reader), (1, late)]


def test_late_logged_run_links_consumers_that_had_no_producer(store, log):
    reader = log("read", ["p"], [], 30, 31)
    late = log("write", [], ["p"], 10, 20)
    assert deps(store, reader) == (late,)


def test_late_logged_run_does_not_displace_a_newer_producer_or_reach_earlier_readers(store, log):
    newer = log("write", [], ["p"], 20, 25)
    early_reader = log("read", ["p"], [], 8, 9)
    reader = log("read", ["p"], [], 30, 31)
    log("write", [], ["p"], 0, 10)  # late, but older than `newer`, and still running at minute 8
    assert deps(store, reader) == (newer,)
    assert deps(store, early_reader) == ()


def test_late_logged_versioned_run_links_only_readers_of_its_version(store, log):
    v2_reader = log("read", [("p", "v2")], [], 30, 31)
    v1_reader = log("read", [("p", "v1")], [], 32, 33)
    w1 = log("write", [], [("p", "v1")], 0, 10)
    w2 = log("write", [], [("p", "v2")], 11, 20)  # later, but v1_reader read v1
    assert deps(store, v2_reader) == (w2,)
    assert deps(store, v1_reader) == (w1,)


def test_warm_start_reading_own_previous_output_is_acyclic(store, log):
    first = log("train", ["data", "model.pkl"], ["model.pkl"], 0, 10)
    second = log("train", ["data", "model.pkl"], ["model.pkl"], 20, 30)
    assert deps(store, first) == ()  # not its own producer
    assert deps(store, second) == (first,)
    assert traced(store, "model.pkl") == [(0, second), (1, first)]


def test_zero_length_runs_at_one_instant_cannot_form_a_cycle(store, log):
    a = log("a", ["y"], ["x"], 5, 5)
    b = log("b", ["x"], ["y"], 5, 5)
    graph = store.trace("x")
    assert len(graph.nodes) == len({n.run.id for n in graph.nodes}) <= 2
    # exactly one direction is linked: b (logged later) read x from a; a cannot read y from b
    assert deps(store, b) == (a,)
    assert deps(store, a) == ()


def test_diamond_shows_each_run_once_at_its_shortest_depth(store, log):
    src = log("src", [], ["s"], 0)
    left = log("left", ["s"], ["l"], 2)
    right = log("right", ["s"], ["r"], 2)
    deep = log("deep", ["l"], ["d"], 4)
    top = log("top", ["d", "r", "s"], ["out"], 6)
    graph = store.trace("out")
    depth = {n.run.id: n.depth for n in graph.nodes}
    assert depth == {top: 0, deep: 1, right: 1, src: 1, left: 2}
    assert len(graph.nodes) == 5
    assert {(e.consumer, e.producer, e.via) for e in graph.edges} == {
        (top, deep, "d"),
        (top, right, "r"),
        (top, src, "s"),
        (deep, left, "l"),
        (left, src, "s"),
        (right, src, "s"),
    }


def test_max_depth_truncates(store, log):
    ids = [log("hop", [f"c{i}"] if i else [], [f"c{i + 1}"], i * 2) for i in range(5)]
    graph = store.trace("c5", max_depth=2)
    assert [(n.depth, n.run.id) for n in graph.nodes] == [(0, ids[4]), (1, ids[3]), (2, ids[2])]
    assert graph.truncated is True
    assert all(e.consumer in ids[2:] and e.producer in ids[2:] for e in graph.edges)
    assert store.trace("c5", max_depth=4).truncated is False
    assert [n.run.id for n in store.trace("c5", max_depth=0).nodes] == [ids[4]]


def test_deep_chain_does_not_recurse(store):
    # 1,500 levels: the prototype's recursive trace dies near 1,000.
    from mltrace_core import RunRecord
    from tests.support.timeline import at

    for i in range(1500):
        store.log(
            RunRecord(
                key=f"hop-{i}",
                component="hop",
                start=at(i),
                end=at(i + 0.5),
                inputs=((f"c{i}", None, None),) if i else (),
                outputs=((f"c{i + 1}", None, None),),
            )
        )
    graph = store.trace("c1500")
    assert len(graph.nodes) == 1500
    assert graph.nodes[-1].depth == 1499
    assert [(d, r.id) for d, r in store.backtrace("c1500")][:2] == [(0, 1500), (1, 1499)]


def test_backtrace_is_trace_order(store, log):
    a = log("a", [], ["x"], 0)
    b = log("b", ["x"], ["y"], 2)
    assert [(d, r.id) for d, r in store.backtrace("y")] == [(0, b), (1, a)]


def test_downstream_is_transitive_impact(store, log):
    src = log("ingest", [], ["raw"], 0)
    f1 = log("feat_a", ["raw"], ["a"], 2)
    f2 = log("feat_b", ["raw"], ["b"], 2)
    model = log("train", ["a", "b"], ["model"], 4)
    pred = log("predict", ["model"], ["preds"], 6)
    unrelated = log("other", ["elsewhere"], ["z"], 6)
    graph = store.downstream("raw")
    depth = {n.run.id: n.depth for n in graph.nodes}
    assert depth == {f1: 0, f2: 0, model: 1, pred: 2}
    assert src not in depth and unrelated not in depth
    assert {(e.consumer, e.producer, e.via) for e in graph.edges} == {
        (model, f1, "a"),
        (model, f2, "b"),
        (pred, model, "model"),
    }
    assert graph.direction == "downstream"
    assert [n.run.id for n in store.downstream("raw", max_depth=1).nodes] == [f2, f1, model]


def test_unknown_pointer_is_a_typed_error(store, log):
    log("a", [], ["x"], 0)
    with pytest.raises(NotFoundError):
        store.trace("missing")
    with pytest.raises(NotFoundError):
        store.downstream("missing")


def test_pointer_only_read_has_an_empty_trace(store, log):
    log("a", ["input-only"], [], 0)
    graph = store.trace("input-only")
    assert graph.nodes == () and graph.edges == ()


def test_same_run_logged_twice_is_stored_once(store, log):
    first = log("a", ["x"], ["y"], 0, key="try-1")
    again = log("a", ["x"], ["y"], 0, key="try-1")
    assert first == again
    assert store.get_recent_run_ids(10) == [first]
