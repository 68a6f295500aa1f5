"""Flags with context (who, when, why; a pointer or one version), their history, review from a version's
writer, and the check of a run's inputs (flags_on), on both backends."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mltrace_core import InvalidInputError, NotFoundError
from mltrace_core.cli import cli
from mltrace_core.flags import os_user


@pytest.fixture
def versions(log) -> dict[str, int]:
    """raw.csv written at v1 then v2; a feature run and a model run read each version."""
    ids = {"w1": log("ingest", [], [("raw.csv", "v1")], 0), "w2": log("ingest", [], [("raw.csv", "v2")], 10)}
    ids["f1"] = log("featurize", [("raw.csv", "v1")], ["feat1"], 2)
    ids["m1"] = log("train", ["feat1"], ["model1"], 4)
    ids["f2"] = log("featurize", [("raw.csv", "v2")], ["feat2"], 12)
    ids["m2"] = log("train", ["feat2"], ["model2"], 14)
    return ids


def targets(store):
    return [(f.pointer, f.version, f.reason, f.by, f.active) for f in store.flags()]


def test_a_flag_records_who_when_why_and_flagging_again_adds_one(store, versions):
    one = store.flag("raw.csv@v1", reason="null ids in the export", by="alice")
    assert (one.pointer, one.version, one.reason, one.by, one.unflagged_at) == (
        "raw.csv",
        "v1",
        "null ids in the export",
        "alice",
        None,
    )
    store.flag("raw.csv@v1", reason="still wrong")  # the OS user by default
    store.flag("raw.csv")
    assert targets(store) == [
        ("raw.csv", "v1", "null ids in the export", "alice", True),
        ("raw.csv", "v1", "still wrong", os_user(), True),
        ("raw.csv", None, None, os_user(), True),
    ]
    assert store.get_flagged() == ["raw.csv"]
    at = [f.at for f in store.flags()]
    assert at == sorted(at)


def test_unknown_versions_and_runs_cannot_be_flagged(store, versions):
    with pytest.raises(NotFoundError, match="no version 'v9' of 'raw.csv'.*'v2', 'v1'"):
        store.flag("raw.csv@v9")
    with pytest.raises(InvalidInputError, match="not a run"):
        store.flag(f"run:{versions['w1']}")
    with pytest.raises(NotFoundError):
        store.flag("no-such.csv")
    with pytest.raises(InvalidInputError, match="reason"):
        store.flag("raw.csv", reason="x" * 70_000)
    assert store.flags() == [] and store.get_flagged() == []


def test_unflag_ends_exactly_its_target_and_keeps_the_history(store, versions):
    store.flag("raw.csv@v1")
    store.flag("raw.csv@v2")
    store.flag("raw.csv")
    assert store.unflag("raw.csv@v1") == 1
    assert targets(store)[0][4] is False and [t[4] for t in targets(store)[1:]] == [True, True]
    assert store.get_flagged() == ["raw.csv"]
    assert store.unflag("raw.csv@v1") == 0  # nothing active on it any more
    assert store.unflag("raw.csv") == 2  # the pointer's flag and v2's
    assert store.get_flagged() == [] and [t[4] for t in targets(store)] == [False, False, False]
    assert len(store.flags("raw.csv")) == 3 and store.flags("raw.csv", active_only=True) == []
    with pytest.raises(NotFoundError):
        store.flags("no-such.csv")


def test_review_traces_a_version_flag_from_that_versions_writer(store, versions):
    store.flag("feat1")  # only written once: its trace is featurize v1 <- ingest v1
    store.flag("raw.csv@v1", reason="bad export")
    review = store.review_flagged_outputs()
    counts = {run.id: n for run, n in review.runs}
    # the trace of raw.csv@v1 starts at v1's writer, not at the latest writer (w2)
    assert counts == {versions["w1"]: 2, versions["f1"]: 1}
    data = review.to_dict()
    assert list(data) == ["flagged", "flags", "runs"]
    assert data["flagged"] == ["feat1", "raw.csv"]
    assert [(f["pointer"], f["version"], f["reason"]) for f in data["flags"]] == [
        ("feat1", None, None),
        ("raw.csv", "v1", "bad export"),
    ]
    assert set(data["flags"][0]) == {"pointer", "version", "reason", "by", "at", "unflagged_at"}
    assert data["runs"][0] == {"run": review.runs[0][0].to_dict(), "count": 2}


def test_the_same_start_counts_once(store, versions):
    store.flag("raw.csv")  # latest writer: w2
    store.flag("raw.csv@v2")  # also w2
    assert {run.id: n for run, n in store.review_flagged_outputs().runs} == {versions["w2"]: 1}


def test_flags_on_the_inputs_of_a_run(store, versions):
    assert store.flags_on([("raw.csv", "v1")]) == []
    store.flag("raw.csv@v1", reason="bad")
    assert [f.target for f in store.flags_on([("raw.csv", "v1"), ("other", None)])] == ["raw.csv@v1"]
    assert store.flags_on([("raw.csv", "v2")]) == []  # another version
    assert store.flags_on([("raw.csv", None)]) == []  # unversioned: reads the latest, v2
    store.flag("raw.csv@v2")
    assert [f.target for f in store.flags_on([("raw.csv", None)])] == ["raw.csv@v2"]
    store.flag("feat1")
    assert [f.target for f in store.flags_on([("feat1", "anything"), ("./feat1", None)])] == ["feat1"]
    store.unflag("raw.csv")
    assert store.flags_on([("raw.csv", "v1"), ("raw.csv", None)]) == []


def test_the_cli_flags_with_a_reason_and_review_shows_the_history(store, versions):
    def mltrace(*args, ok=True):
        result = CliRunner().invoke(cli, ["--db-uri", store.uri, *args])
        assert (result.exit_code == 0) == ok, result.output
        return result

    assert "Flagged raw.csv@v1" in mltrace("flag", "raw.csv@v1", "--reason", "nulls").output
    assert "no version 'v3'" in mltrace("flag", "raw.csv@v3", ok=False).output
    assert "not a run" in mltrace("flag", f"run:{versions['w1']}", ok=False).output
    assert "1 active flag ended" in mltrace("unflag", "raw.csv@v1").output
    mltrace("flag", "raw.csv")
    review = json.loads(mltrace("review", "--json").output)
    assert review["flagged"] == ["raw.csv"]
    assert [(f["version"], f["reason"], f["by"], f["unflagged_at"] is None) for f in review["flags"]] == [
        ("v1", "nulls", os_user(), False),
        (None, None, os_user(), True),
    ]
    shown = mltrace("review").output
    assert "nulls" in shown and "raw.csv@v1" in shown
