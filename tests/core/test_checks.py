"""The lineage check behind the gate (mltrace_core/checks.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mltrace_core import InvalidInputError, NotFoundError
from mltrace_core.checks import (
    FAILED_RUN,
    FAILED_TEST,
    FLAGGED,
    INPUT_AGE,
    MISSING_COMPONENT,
    NO_RUN,
    STALE,
)
from mltrace_core.runs import TestResult
from tests.support.timeline import at


@pytest.fixture
def pipeline(log):
    """raw -> features -> model (train), and an evaluate run reading the model and writing a report."""
    ingest = log("dag.ingest", [], [("raw.csv", "v1")], 0)
    featurize = log("dag.featurize", [("raw.csv", "v1")], [("features.parquet", "f1")], 2)
    train = log("dag.train", ["features.parquet"], [("model.pkl", "m1")], 4)
    evaluate = log("dag.evaluate", [("model.pkl", "m1")], [("report.json", "r1")], 6)
    return {"ingest": ingest, "featurize": featurize, "train": train, "evaluate": evaluate}


def reasons(result) -> list[tuple[str, int | None]]:
    return [(r.check, r.run) for r in result.reasons]


def test_a_healthy_trace_passes_and_counts_its_runs(store, pipeline):
    result = store.check("report.json", now=at(10))
    assert result.passed and result.reasons == ()
    assert result.runs_checked == 4
    assert result.address.run == pipeline["evaluate"]
    assert "passed (4 runs checked)" in result.summary()
    assert {t.name for t in result.test_results()} >= {"gate.flagged", "gate.failed_run", "gate.stale"}
    assert all(t.passed for t in result.test_results())


def test_a_flagged_pointer_anywhere_upstream_fails_with_the_runs_that_touched_it(store, pipeline):
    store.flag_output_id("raw.csv")
    result = store.check("model.pkl", now=at(10))
    assert not result.passed
    # ingest wrote it, featurize read it: both are named, each with its run
    assert reasons(result) == [(FLAGGED, pipeline["ingest"]), (FLAGGED, pipeline["featurize"])]
    assert "raw.csv version v1 is flagged" in result.reasons[0].message
    failed = [t for t in result.test_results() if not t.passed]
    assert [t.name for t in failed] == ["gate.flagged", "gate.flagged"]
    assert f"run {pipeline['ingest']}" in failed[0].message
    # a pointer off the trace does not count
    store.unflag_output_id("raw.csv")
    store.flag_output_id("report.json")
    assert store.check("model.pkl", now=at(10)).passed


def test_a_failed_run_in_the_trace_fails(store, log):
    w = log("w", [], ["p"], 0)
    bad = log("r", ["p"], [], 2, status="failed", error="boom")
    result = store.check(f"run:{bad}", now=at(5))
    assert reasons(result) == [(FAILED_RUN, bad)]
    assert "r ended failed: boom" in result.reasons[0].message
    assert store.check(f"run:{w}", now=at(5)).passed


def test_a_stale_input_fails_by_the_staleness_rules(store, log):
    old = log("old", [], ["ref.csv"], 0)
    late = log("late", ["ref.csv"], ["out.csv"], 60 * 24 * 40)  # 40 days later: stale by the 30-day rule
    result = store.check("out.csv", now=at(60 * 24 * 41))
    assert reasons(result) == [(STALE, late)]
    assert f"by run {old}" in result.reasons[0].message


def test_a_failed_test_result_fails(store, log):
    log("w", [], ["p"], 0)
    tested = log("t", ["p"], ["q"], 2, test_results=[TestResult("after", "Checks.rows", False, "0 rows")])
    result = store.check("q", now=at(5))
    assert reasons(result) == [(FAILED_TEST, tested)]
    assert result.reasons[0].message == "test Checks.rows failed: 0 rows"


def test_inputs_older_than_max_input_age_fail_each_producer_once(store, pipeline):
    result = store.check("model.pkl", max_input_age="1h", now=at(60 + 3.5))
    # featurize's output (ended at minute 3) is 60.5 minutes old; ingest's (minute 1) too
    assert reasons(result) == [(INPUT_AGE, pipeline["ingest"]), (INPUT_AGE, pipeline["featurize"])]
    assert "more than 1 h ago" in result.reasons[0].message
    assert store.check("model.pkl", max_input_age=timedelta(hours=2), now=at(63.5)).passed
    assert store.check("model.pkl", max_input_age=3600 * 2, now=at(63.5)).passed
    with pytest.raises(InvalidInputError):
        store.check("model.pkl", max_input_age="soon")
    with pytest.raises(InvalidInputError):
        store.check("model.pkl", max_input_age=0)


def test_a_required_component_matches_a_name_or_a_task_id(store, pipeline):
    assert store.check("report.json", require_components=["evaluate"], now=at(10)).passed
    assert store.check("report.json", require_components="dag.evaluate", now=at(10)).passed
    result = store.check("model.pkl", require_components=["evaluate", "train"], now=at(10))
    assert reasons(result) == [(MISSING_COMPONENT, None)]
    assert "'evaluate'" in result.reasons[0].message


def test_any_address_version_and_as_of_pick_the_trace_checked(store, log):
    log("ingest", [], [("raw.csv", "v1")], 0)
    bad = log("ingest", [], [("raw.csv", "v2")], 10, status="success")
    log("train", [("raw.csv", "v1")], [("model.pkl", "m1")], 5)
    log("train", [("raw.csv", "v2")], [("model.pkl", "m2")], 12)
    store.add_notes(bad, "bad")
    failing = log("check", [("model.pkl", "m2")], [], 15, status="failed")
    assert store.check("model.pkl@m1", now=at(20)).passed
    assert store.check("model.pkl", as_of=at(8), now=at(20)).passed
    assert store.check("model.pkl@m2", now=at(20)).passed
    assert reasons(store.check(f"run:{failing}", now=at(20))) == [(FAILED_RUN, failing)]


def test_nothing_written_fails_and_unknown_addresses_are_errors(store, log):
    log("r", ["never-written"], [], 0)
    result = store.check("never-written", now=at(5))
    assert reasons(result) == [(NO_RUN, None)]
    with pytest.raises(NotFoundError):
        store.check("no-such-pointer")
    with pytest.raises(NotFoundError):
        store.check("never-written@v9")


def test_to_dict_has_every_reason_with_its_run(store, pipeline):
    store.flag_output_id("features.parquet")
    out = store.check("model.pkl", require_components=["evaluate"], now=at(10)).to_dict()
    assert out["passed"] is False
    assert out["address"]["run"] == pipeline["train"]
    assert {(r["check"], r["run"]) for r in out["reasons"]} == {
        (FLAGGED, pipeline["featurize"]),
        (FLAGGED, pipeline["train"]),
        (MISSING_COMPONENT, None),
    }
    assert out["require_components"] == ["evaluate"]


def test_a_version_flag_fails_only_the_lineages_holding_that_version(store, log):
    log("ingest", [], [("raw.csv", "v1")], 0)
    one = log("train", [("raw.csv", "v1")], [("model.pkl", "m1")], 2)
    log("ingest", [], [("raw.csv", "v2")], 4)
    log("train", [("raw.csv", "v2")], [("model.pkl", "m2")], 6)
    store.flag("raw.csv@v1", reason="bad export")
    assert store.check("model.pkl@m2", now=at(10)).passed
    result = store.check("model.pkl@m1", now=at(10))
    assert (FLAGGED, one) in reasons(result)
    store.unflag("raw.csv@v1")
    assert store.check("model.pkl@m1", now=at(10)).passed
    store.flag("raw.csv")  # the whole pointer: every version, later ones included
    assert not store.check("model.pkl@m2", now=at(10)).passed
