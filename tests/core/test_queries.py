"""recent, history, inspect, components, tags, flags, review and staleness, on both backends."""

from __future__ import annotations

import pytest

from mltrace_core import ExternalIdentity, InvalidInputError, NotFoundError
from tests.support.timeline import at


def test_recent_is_newest_first_and_limited(store, log):
    ids = [log("step", [], [f"o{i}"], i) for i in range(5)]
    assert store.get_recent_run_ids(3) == ids[::-1][:3]
    recent = store.get_recent_runs(2)
    assert [r.id for r in recent] == ids[::-1][:2]
    assert recent[0].outputs == ("o4",)


def test_history_is_newest_first_per_component(store, log):
    a = [log("a", [], ["x"], i * 2) for i in range(4)]
    log("b", [], ["y"], 1)
    assert [r.id for r in store.get_history("a")] == a[::-1]
    assert [r.id for r in store.get_history("a", 2)] == a[::-1][:2]
    with pytest.raises(NotFoundError):
        store.get_history("no-such-component")


def test_inspect_has_everything(store, log):
    up = log("ingest", [], [("raw.csv", "md5:1")], 0, 1)
    run = log(
        "train",
        [("raw.csv", "md5:1"), "params.yaml"],
        ["model.pkl"],
        2,
        5.5,
        notes="lr=0.1",
        code_version="abc123",
        external=ExternalIdentity("ml", "manual__1", "train", 2, -1, "http://x/dags/ml"),
    )
    down = log("predict", ["model.pkl"], ["preds"], 6, 7)
    info = store.get_component_run_information(run)
    assert info.component == "train"
    assert info.start == at(2) and info.end == at(5.5)
    assert info.duration == 210.0
    assert info.status == "success"
    assert info.inputs == ("params.yaml", "raw.csv") and info.outputs == ("model.pkl",)
    assert info.dependencies == (up,)
    assert info.downstream == (down,)
    assert dict(info.input_versions) == {"raw.csv": "md5:1", "params.yaml": None}
    assert info.notes == "lr=0.1" and info.code_version == "abc123"
    assert info.external.dag_id == "ml" and info.external.try_number == 2
    data = info.to_dict()
    assert data["start"] == "2026-01-01T00:02:00+00:00"
    assert data["dependencies"] == [up] and data["downstream"] == [down]
    assert data["external"]["url"] == "http://x/dags/ml"
    with pytest.raises(NotFoundError):
        store.get_component_run_information(10_000)
    with pytest.raises(InvalidInputError):
        store.get_component_run_information("not-a-number")
    assert store.get_component_run_information(str(run)).id == run  # ids typed at a prompt


def test_failed_run_keeps_its_error(store, log):
    rid = log("flaky", [], ["x"], 0, status="failed", error="ValueError: boom")
    info = store.get_component_run_information(rid)
    assert info.status == "failed" and info.error == "ValueError: boom"


def test_stale_when_input_produced_more_than_30_days_before(store, log):
    old = log("ingest", [], ["raw"], 0, 1)
    fresh = log("train", ["raw"], [], 60 * 24 * 10, 60 * 24 * 10 + 1)  # 10 days later
    stale = log("train", ["raw"], ["model"], 60 * 24 * 45, 60 * 24 * 45 + 1)  # 45 days later
    assert store.get_component_run_information(fresh).stale == ()
    (warning,) = store.get_component_run_information(stale).stale
    assert store.trace("model").nodes[0].run.stale == (warning,)
    assert "raw" in warning and "44 days" in warning and f"run {old}" in warning


def test_stale_when_newer_version_existed_at_start(store, log):
    v1 = log("write", [], [("p", "v1")], 0, 1)
    v2 = log("write", [], [("p", "v2")], 2, 3)
    pinned = log("read", [("p", "v1")], ["out"], 5, 6)
    (warning,) = store.get_component_run_information(pinned).stale
    assert f"run {v2}" in warning and f"run {v1}" in warning
    assert store.trace("out").nodes[0].run.stale == (warning,)  # the trace computes it its own way
    latest = log("read", [("p", "v2")], [], 7, 8)
    assert store.get_component_run_information(latest).stale == ()
    assert [r.stale != () for r in store.get_recent_runs(2)] == [False, True]


def test_components_tags_and_owners(store, log):
    store.create_component("ingest", "reads the raw data", "ana", ["data", "daily"])
    store.create_component("train", "fits the model", "bo", ["ml"])
    store.tag_component("train", ["daily"])
    rid = log("train", [], ["m"], 0)
    assert store.get_tags() == ["daily", "data", "ml"]
    daily = store.get_components(tag="daily")
    assert [c.name for c in daily] == ["ingest", "train"]
    train = daily[1]
    assert train.tags == ("daily", "ml") and train.owner == "bo" and train.run_count == 1
    assert train.latest_run.id == rid and daily[0].latest_run is None
    assert [c.name for c in store.get_components(owner="ana")] == ["ingest"]
    assert store.get_components(tag="nothing") == []
    with pytest.raises(NotFoundError):
        store.tag_component("missing", ["x"])
    store.create_component("ingest", owner="cy")  # updates what is given, keeps the rest
    comp = store.get_component("ingest")
    assert comp.owner == "cy" and comp.description == "reads the raw data"


def test_logging_creates_missing_component(store, log):
    log("brand-new", [], ["x"], 0)
    assert [c.name for c in store.get_components()] == ["brand-new"]


def test_flags_and_review(store, log):
    shared = log("ingest", [], ["raw"], 0)
    a = log("feat_a", ["raw"], ["a"], 2)
    b = log("feat_b", ["raw"], ["b"], 2)
    log("model_a", ["a"], ["pa"], 4)
    log("model_b", ["b"], ["pb"], 4)
    store.flag_output_id("pa")
    store.flag_output_id("pb")
    flagged, ranked = store.review_flagged_outputs()
    assert flagged == ["pa", "pb"]
    counts = {run.id: n for run, n in ranked}
    assert counts[shared] == 2 and counts[a] == 1 and counts[b] == 1
    assert ranked[0][0].id == shared  # the run common to both traces comes first
    store.unflag_output_id("pa")
    assert store.review_flagged_outputs().flagged == ("pb",)
    assert store.unflag_all() == 1
    review = store.review_flagged_outputs().to_dict()
    assert review["flagged"] == [] and review["runs"] == []
    # every flag stays in the history, ended
    assert [(f["pointer"], f["unflagged_at"] is not None) for f in review["flags"]] == [
        ("pa", True),
        ("pb", True),
    ]
    with pytest.raises(NotFoundError):
        store.flag_output_id("unknown")


def test_runs_for_a_dag_run(store, log):
    ext = lambda task, tr: ExternalIdentity("dag", "run1", task, tr, -1)  # noqa: E731
    a = log("dag.a", [], ["x"], 0, external=ext("a", 1))
    b = log("dag.b", ["x"], [], 2, external=ext("b", 1))
    log("dag.b", ["x"], [], 3, external=ExternalIdentity("dag", "run2", "b", 1, -1))
    retry = log("dag.b", ["x"], [], 4, external=ext("b", 2))
    assert [r.id for r in store.get_runs_for_dag_run("dag", "run1")] == [a, b, retry]
    assert [r.id for r in store.get_runs_for_dag_run("dag", "run1", "b")] == [b, retry]
    assert [r.id for r in store.get_runs_for_dag_run("dag", "run1", "b", map_index=-1, try_number=2)] == [
        retry
    ]
    assert store.get_runs_for_dag_run("dag", "run1", "b", map_index=3) == []
    with pytest.raises(InvalidInputError):
        store.get_runs_for_dag_run("dag", None)
    with pytest.raises(InvalidInputError):
        store.get_runs_for_dag_run("d" * 300, "run1")


def test_get_runs_and_flagged(store, log):
    a = log("a", [], ["x"], 0)
    b = log("b", ["x"], ["y"], 2)
    assert [r.id for r in store.get_runs([b, 999, a])] == [b, a]
    assert store.get_runs([b])[0].dependencies == (a,)
    assert store.get_flagged() == []
    store.flag_output_id("y")
    store.flag_output_id("x")
    assert store.get_flagged() == ["x", "y"]
    store.unflag_all()
    assert store.get_flagged() == []
    with pytest.raises(InvalidInputError):
        store.get_runs(["nope"])
