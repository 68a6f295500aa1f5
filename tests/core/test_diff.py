"""Trace diff on SQLite and PostgreSQL: the lineage cases of a changed input, a new code version, an extra
mapped task, identical histories, a late-logged run and names with ``@`` in them; then the matching rules
on hand-made traces."""

from __future__ import annotations

import pytest

from mltrace_core import ExternalIdentity, InvalidInputError, NotFoundError, Run, Trace
from mltrace_core.diff import match
from mltrace_core.records import TraceNode
from tests.support.timeline import at


def pipeline(log, t, raw, code="c1", config_run=None):
    """ingest (reads the raw file) -> featurize -> train (also reads params.yaml, written once)."""
    ingest = log("ingest", [("s3://in/raw.csv", raw)], [("raw.parquet", f"h-{raw}")], t)
    feat = log("featurize", [("raw.parquet", f"h-{raw}")], [("features", f"f-{raw}")], t + 2)
    train = log(
        "train",
        [("features", f"f-{raw}"), "params.yaml"],
        [("model", f"m-{raw}-{code}")],
        t + 4,
        code_version=code,
    )
    return ingest, feat, train


@pytest.fixture
def params(log):
    return log("config", [], ["params.yaml"], -10)


def shape(result):
    data = result.to_dict()
    return {
        "only_a": data["only_a"],
        "only_b": data["only_b"],
        "changed": [(c["a"], c["b"], c["component"], sorted(c["differences"])) for c in data["changed"]],
        "first": [(d["a"], d["b"]) for d in data["first_divergences"]],
    }


def test_changed_input_file_shows_the_chain_and_the_ingest_first(store, log, params):
    a = pipeline(log, 0, "r1")
    b = pipeline(log, 10, "r2")
    result = store.diff("model@m-r1-c1", "model")
    assert result.to_dict()["a"] == {"address": "model@m-r1-c1", "run": a[2]}
    assert result.to_dict()["b"] == {"address": "model", "run": b[2]}
    assert shape(result) == {
        "only_a": [],
        "only_b": [],
        "changed": [
            (a[0], b[0], "ingest", ["input_versions", "output_versions"]),
            (a[1], b[1], "featurize", ["input_versions", "output_versions"]),
            (a[2], b[2], "train", ["input_versions", "output_versions"]),
        ],
        "first": [(a[0], b[0])],
    }
    ingest = result.to_dict()["changed"][0]["differences"]
    assert ingest["input_versions"] == [{"s3://in/raw.csv": "r1"}, {"s3://in/raw.csv": "r2"}]
    train = result.to_dict()["changed"][2]["differences"]
    assert train["input_versions"] == [
        {"features": "f-r1", "params.yaml": None},
        {"features": "f-r2", "params.yaml": None},
    ]
    assert params not in {c.a for c in result.changed}  # the shared config run is the same run: unchanged


def test_code_version_change_only(store, log, params):
    ingest, feat, old = pipeline(log, 0, "r1")
    new = log("train", [("features", "f-r1"), "params.yaml"], [("model", "m-r1-c2")], 10, code_version="c2")
    result = store.diff("model@m-r1-c1", "model@m-r1-c2")
    assert shape(result) == {
        "only_a": [],
        "only_b": [],
        "changed": [(old, new, "train", ["code_version", "output_versions"])],
        "first": [(old, new)],
    }
    assert result.to_dict()["changed"][0]["differences"]["code_version"] == ["c1", "c2"]


def test_a_code_change_below_an_earlier_divergence_is_changed_not_first(store, log, params):
    a = pipeline(log, 0, "r1", code="c1")
    b = pipeline(log, 10, "r2", code="c2")
    result = store.diff(f"run:{a[2]}", f"run:{b[2]}")
    assert shape(result)["first"] == [(a[0], b[0])]
    assert shape(result)["changed"][-1] == (
        a[2],
        b[2],
        "train",
        ["code_version", "input_versions", "output_versions"],
    )


def mapped(log, t, n, dag_run):
    """split -> score[0..n-1] (mapped) -> collect."""
    split = log("split", [], [("batches", f"b{n}")], t)
    scores = [
        log(
            "score",
            [("batches", f"b{n}")],
            [(f"scores/{i}.csv", f"s{i}-{n}")],
            t + 2 + (n - i) * 0.1,  # started in reverse order of map index
            external=ExternalIdentity("churn", dag_run, "score", 1, i),
        )
        for i in range(n)
    ]
    collect = log(
        "collect", [(f"scores/{i}.csv", f"s{i}-{n}") for i in range(n)], [("all.csv", f"a{n}")], t + 4
    )
    return split, scores, collect


def test_an_extra_mapped_task_is_only_in_b(store, log):
    split_a, scores_a, collect_a = mapped(log, 0, 2, "r1")
    split_b, scores_b, collect_b = mapped(log, 10, 3, "r2")
    result = store.diff("all.csv@a2", "all.csv@a3")
    assert result.only_a == () and result.only_b == (scores_b[2],)
    pairs = set(result.pairs)
    assert (scores_a[0], scores_b[0]) in pairs and (scores_a[1], scores_b[1]) in pairs  # by map index
    assert shape(result)["first"] == [(split_a, split_b)]  # the split wrote a new batch version
    assert (collect_a, collect_b) in {(c.a, c.b) for c in result.changed}


def test_identical_histories_give_an_empty_diff(store, log, params):
    pipeline(log, 0, "r1")
    result = store.diff("model", "model")
    assert result.empty
    assert shape(result) == {"only_a": [], "only_b": [], "changed": [], "first": []}
    # The same data and code run again: other runs, the same versions -- nothing differs.
    pipeline(log, 10, "r1")
    again = store.diff("model", "model", as_of_a=at(8))
    assert again.a.run != again.b.run and again.empty


def test_unversioned_pointers_carry_no_evidence_by_themselves(store, log):
    log("ingest", [], ["raw"], 0)
    log("train", ["raw"], ["model"], 2)
    log("ingest", [], ["raw"], 10)
    log("train", ["raw"], ["model"], 12, notes="retrained")
    result = store.diff("model", "model", as_of_a=at(5))
    assert [(c.component, [d[0] for d in c.differences]) for c in result.changed] == [("train", ["notes"])]
    assert len(result.first_divergences) == 1


def test_a_late_logged_run_is_in_todays_lineage(store, log):
    ingest1 = log("ingest", [], [("raw", "r1")], 0)
    train1 = log("train", ["raw"], [("model", "m1")], 2)
    train2 = log("train", ["raw"], [("model", "m2")], 12)
    before = store.diff("model@m1", "model@m2")
    assert shape(before)["first"] == [(train1, train2)]  # both read ingest1's raw
    late = log("ingest", [], [("raw", "r2")], 8, 9)  # replayed after an outage: train2 read it
    after = store.diff("model@m1", "model@m2")
    assert shape(after)["first"] == [(ingest1, late)]
    assert shape(after)["changed"][0] == (ingest1, late, "ingest", ["output_versions"])


def test_status_and_one_sided_runs(store, log):
    base = log("ingest", [], [("raw", "r1")], 0)
    log("train", [("raw", "r1")], [("model", "m1")], 2, status="failed")
    extra = log("extra", [], [("extra.csv", "e1")], 5)
    new = log("train", [("raw", "r1"), ("extra.csv", "e1")], [("model", "m2")], 8)
    result = store.diff("model@m1", "model@m2")
    assert result.only_b == (extra,) and result.only_a == ()
    change = result.to_dict()["changed"][0]
    assert change["b"] == new and change["differences"]["status"] == ["failed", "success"]
    # The changed train has a one-sided run above it in B: the extra run is where B starts to differ.
    assert shape(result)["first"] == [(None, extra)]
    assert base not in result.only_a + result.only_b


def test_versions_with_at_signs_in_names(store, log):
    log("export", [], [("user@host:/data", "2026@1")], 0)
    log("export", [], [("user@host:/data", "2026@2")], 10)
    result = store.diff("user@host:/data@2026@1", "user@host:/data")
    assert [c.component for c in result.changed] == ["export"]
    assert result.b.version == "2026@2"


def test_bad_addresses_are_errors(store, log):
    log("read", ["raw"], [], 0)
    log("w", [], [("a@b", "c")], 0)
    log("w", [], [("a", "b@c")], 0)
    with pytest.raises(NotFoundError, match="no run has written 'raw'"):
        store.diff("raw", "raw")
    with pytest.raises(InvalidInputError, match="ambiguous"):
        store.diff("a@b@c", "a")
    with pytest.raises(InvalidInputError, match="as_of applies to a pointer name"):
        store.diff("run:1", "a", as_of_a="1d")


# -- matching on hand-made traces --------------------------------------------------------------------
def run(run_id, component, start, map_index=None):
    ext = ExternalIdentity("d", "r", "t", 1, map_index) if map_index is not None else None
    return Run(run_id, component, at(start), at(start + 1), "success", external=ext)


def trace(*runs):
    return Trace(output="x", nodes=tuple(TraceNode(0, r) for r in runs), edges=())


def test_the_same_run_pairs_with_itself_then_by_start_order_then_id():
    a = trace(run(1, "c", 0), run(2, "s", 5), run(3, "s", 1), run(4, "s", 1))
    b = trace(run(1, "c", 0), run(7, "s", 9), run(6, "s", 3), run(5, "s", 3))
    assert match(a, b) == ([(1, 1), (2, 7), (3, 5), (4, 6)], [], [])


def test_map_indexes_pair_before_start_order():
    a = trace(run(1, "m", 0, 0), run(2, "m", 1, 1), run(3, "m", 2))
    b = trace(run(11, "m", 5, 1), run(12, "m", 6, 0), run(13, "m", 7, 2), run(14, "m", 0))
    pairs, only_a, only_b = match(a, b)
    assert pairs == [(1, 12), (2, 11), (3, 14)] and only_a == [] and only_b == [13]


def test_runs_pair_only_within_a_component():
    a = trace(run(1, "x", 0), run(2, "y", 0))
    b = trace(run(3, "x", 0), run(4, "z", 0))
    assert match(a, b) == ([(1, 3)], [2], [4])


def test_test_results_are_compared(store):
    from mltrace_core import RunRecord
    from mltrace_core.runs import TestResult

    def train(key, minute, passed):
        return store.log(
            RunRecord(
                key=key,
                component="train",
                start=at(minute),
                end=at(minute + 1),
                outputs=(("model", None, None),),
                tests=(TestResult("after", "Accuracy.testAbove", passed, "" if passed else "0.41 < 0.5"),),
            )
        )

    good, bad = train("t1", 0, True), train("t2", 10, False)
    change = store.diff(f"run:{good}", f"run:{bad}").to_dict()["changed"][0]
    assert change["differences"] == {
        "tests": [
            [{"phase": "after", "name": "Accuracy.testAbove", "passed": True, "message": ""}],
            [{"phase": "after", "name": "Accuracy.testAbove", "passed": False, "message": "0.41 < 0.5"}],
        ]
    }
