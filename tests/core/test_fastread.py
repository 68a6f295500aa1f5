"""The one-statement reads (mltrace_core/fastread.py) against the general path they stand in for, on both
backends: recent, history and inspect give equal records, and a run that needs the general staleness
rules (a pinned version read, an input produced about 30 days before, mltrace 0.17's rules, test
results) is answered by the general path."""

from __future__ import annotations

import pytest

from mltrace_core import (
    ExternalIdentity,
    NotFoundError,
    RunRecord,
    TestResult,
    catalog,
    details,
    fastread,
    queries,
)
from tests.support.timeline import at

DAY = 60 * 24


def general_and_fast(store, fn, general, *args):
    return store._read(general, *args), store._fast_read(fn, *args)


def fill(store, log) -> dict[str, int]:
    store.create_component("train", "fits the model", "ml-team", ["prod", "Zeta", "alpha", "_x"])
    ids = {
        "ingest": log("ingest", [], [("raw.csv", "v1"), "Schema.json", "b-ext"], 0, 1),
        "config": log("config", [], ["params.yaml"], 0, 1, notes="params"),
    }
    store.get_pointer("raw.csv", create=True, type="DATA")
    ids["train"] = log(
        "train",
        ["raw.csv", "params.yaml", "Schema.json", "b-ext", "never-written"],
        ["model.pkl", "metrics.json"],
        2,
        5.5,
        status="failed",
        code_version="abc123",
        notes="lr=0.1",
        external=ExternalIdentity("ml", "manual__1", "train", 2, -1, "http://x/dags/ml"),
    )
    ids["predict"] = log("predict", ["model.pkl"], ["preds"], 6, 7)
    ids["report"] = log("report", ["model.pkl", "preds", "metrics.json"], ["report.html"], 8, 9)
    return ids


def test_common_runs_take_the_fast_path_with_equal_records(store, log):
    ids = fill(store, log)
    general, fast = general_and_fast(store, fastread.recent, queries.recent_runs, 20)
    assert fast is not None and fast == general
    assert store.get_recent_runs(3) == general[:3]
    for component in ("train", "report", "ingest"):
        general, fast = general_and_fast(store, fastread.history, queries.history, component, 10)
        assert fast is not None and fast == general, component
        assert store.get_history(component) == general
    for rid in ids.values():
        general, fast = general_and_fast(store, fastread.detail, details.detail, rid)
        assert fast is not None and fast == general and type(fast) is type(general)
        assert fast.to_dict() == general.to_dict()
        assert store.get_component_run_information(rid) == general
    train = store.get_component_run_information(ids["train"])
    assert set(train.component_tags) == {"prod", "Zeta", "alpha", "_x"}  # in the database's order
    assert train.downstream == (ids["predict"], ids["report"])
    assert train.upstream_components == ("config", "ingest")


def test_runs_needing_the_general_staleness_rules_take_the_general_path(store, log):
    v1 = log("write", [], [("p", "v1")], 0, 1)
    log("write", [], [("p", "v2")], 2, 3)
    pinned = log("read", [("p", "v1")], ["q"], 4, 5)  # a newer version existed
    old = log("old", [], ["ancient"], 0, 1)
    aged = log("late", ["ancient"], [], 31 * DAY, 31 * DAY + 1)  # produced 31 days before
    near = log("late", ["ancient"], [], 29.5 * DAY, 29.5 * DAY + 1)  # inside the day's margin, not stale
    legacy = store.log(
        RunRecord(
            key="legacy",
            component="fit",
            start=at(10),
            end=at(11),
            inputs=(("q", None, None),),
            staleness_threshold=3600,
        )
    )
    tested = store.log(
        RunRecord(
            key="tested",
            component="check",
            start=at(12),
            end=at(13),
            tests=(TestResult("after", "Schema.testColumns", True, ""),),
        )
    )
    for rid in (pinned, aged, near, legacy, tested):
        assert store._fast_read(fastread.detail, rid) is None, rid
        assert store.get_component_run_information(rid) == store._read(details.detail, rid)
    assert store._fast_read(fastread.detail, v1) is not None
    assert store._fast_read(fastread.detail, old) is not None
    assert store.get_component_run_information(aged).stale
    assert not store.get_component_run_information(near).stale
    assert store._fast_read(fastread.recent, 20) is None  # one of them is among the newest
    assert store.get_recent_runs(20) == store._read(queries.recent_runs, 20)
    assert store.get_history("late") == store._read(queries.history, "late", 10, None, None)


def test_unknown_run_and_component_keep_their_errors(store, log):
    log("a", [], ["x"], 0)
    store.create_component("idle")
    with pytest.raises(NotFoundError):
        store.get_component_run_information(999)
    with pytest.raises(NotFoundError):
        store.get_history("no-such-component")
    assert store.get_history("idle") == []


def test_component_listing_equals_the_general_path(store, log):
    """Tags (in the database's order), owners, run counts, latest runs (by start, then id; a component
    without runs), and the filters by tag and owner; a latest run needing the general staleness rules
    sends the whole listing down the general path."""
    fill(store, log)
    store.create_component("idle", "no runs yet", "ops", ["prod"])
    log("train", ["raw.csv"], ["model.pkl"], 20, 21)  # a later run: the latest
    log("predict", ["model.pkl"], ["preds"], 6, 7)  # same start as the earlier one: the later id wins
    for tag, owner in ((None, None), ("prod", None), (None, "ml-team"), ("prod", "ops"), ("none", None)):
        general = store._read(catalog.list_components, tag, owner)
        fast = store._fast_read(fastread.components, tag, owner, None)
        assert fast is not None and fast == general, (tag, owner)
        assert [c.to_dict() for c in fast] == [c.to_dict() for c in general]
        assert store.get_components(tag, owner) == general
    listed = {c.name: c for c in store.get_components()}
    assert listed["idle"].latest_run is None and listed["idle"].run_count == 0
    assert listed["train"].run_count == 2 and listed["train"].latest_run.start == at(20)
    log("write", [], [("p", "v1")], 30, 31)
    log("write", [], [("p", "v2")], 32, 33)
    log("read", [("p", "v1")], ["q"], 34, 35)  # a pinned read with a newer version: general rules
    assert store._fast_read(fastread.components, None, None, None) is None
    assert store.get_components() == store._read(catalog.list_components, None, None)
