"""Flags with context (who, when, why; a pointer or one version), their history, review from a version's
writer, and the check of a run's inputs (flags_on), on both backends."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mltrace_core import InvalidInputError, NotFoundError
from mltrace_core.cli import cli
from mltrace_core.flags import os_user
from tests.support.stores import driver_connection


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


def test_flags_on_the_inputs_of_a_try(store, versions):
    def on(*inputs):
        return [(f.target, f.run) for f in store.flags_on(inputs)]

    assert on(("raw.csv", "v1")) == []
    store.flag("raw.csv@v1", reason="bad")
    assert on(("raw.csv", "v1"), ("other", None)) == [("raw.csv@v1", None)]
    assert on(("raw.csv", "v2")) == []  # another version
    assert on(("raw.csv", None)) == []  # unversioned: reads the latest, v2
    store.flag("raw.csv@v2")
    assert on(("raw.csv", None)) == [("raw.csv@v2", None)]
    store.flag("feat1")
    # feat1 is flagged itself, and was made from raw.csv@v1: the flag upstream names the run that read it.
    assert on(("feat1", "anything"), ("./feat1", None)) == [("feat1", None), ("raw.csv@v1", versions["f1"])]
    store.unflag("raw.csv")
    assert on(("raw.csv", "v1"), ("raw.csv", None)) == []


def test_the_check_outside_and_inside_a_transaction_agree_and_survive_a_dropped_statement(store, versions):
    """The store checks on a driver connection outside a transaction (PostgreSQL: a statement prepared
    once per connection); a session checks inside its transaction: the same answer. A connection whose
    prepared statement was dropped (a pooler, DISCARD ALL) or prepared unknown to this process prepares
    it again or uses it."""
    from mltrace_core import flags

    store.flag("raw.csv@v1", reason="bad")
    store.flag("feat1")
    inputs = [("feat1", None), ("model1", None), ("raw.csv", "v1")]
    expected = store.flags_on(inputs)
    assert [(f.target, f.run) for f in expected] == [("feat1", None), ("raw.csv@v1", None)]
    with store.session() as s:
        assert flags.flags_on(s, inputs) == expected
    if store.engine.dialect.name != "postgresql":
        return
    with driver_connection(store) as conn:
        cursor = conn.cursor()
        assert flags.check(cursor, "postgresql", inputs) == expected
        cursor.execute("DEALLOCATE ALL")
        # another version's check under the name it had (a pooled connection across an upgrade): ours,
        # named by its text, is not that one
        cursor.execute("PREPARE mltrace_flags_on(json, timestamptz) AS SELECT 1 WHERE false")
        flags.CHECK.forget(conn)
        assert flags.check(cursor, "postgresql", inputs) == expected
        cursor.execute("DEALLOCATE ALL")
        assert flags.check(cursor, "postgresql", inputs) == expected
        flags.CHECK.forget(conn)
        assert flags.check(cursor, "postgresql", inputs) == expected
        cursor.close()
        conn.autocommit = False


def test_flags_on_reach_what_the_inputs_were_made_from(store, versions):
    """A model trained on a flagged export is flagged data too: the check follows the inputs' lineage."""
    store.flag("raw.csv@v1", reason="doubled rows", by="alice")
    (hit,) = store.flags_on([("model1", None)])
    assert (hit.target, hit.run, hit.component) == ("raw.csv@v1", versions["f1"], "featurize")
    assert hit.describe().startswith("raw.csv@v1 flagged by alice at ") and "doubled rows" in hit.describe()
    assert f"run {versions['f1']}, featurize" in hit.describe()
    assert store.flags_on([("model2", None)]) == []  # made from v2
    store.flag("feat2")
    assert [(f.target, f.run) for f in store.flags_on([("model2", None)])] == [("feat2", versions["m2"])]
    store.unflag_all()
    assert store.flags_on([("model1", None), ("model2", None)]) == []


def test_the_walk_skips_only_what_is_older_than_any_flagged_data(store, versions, log):
    """The walk stops at runs that ended before the first write or read of any flagged pointer; data read
    from outside (no writer in the store) counts from its first read."""
    scored = log("score", ["model1", "external.csv"], ["scores.csv"], 30)
    store.flag("external.csv", reason="from a vendor")
    assert [(f.target, f.run) for f in store.flags_on([("scores.csv", None)])] == [("external.csv", scored)]
    store.flag("raw.csv@v1")  # older: the walk now goes back to raw.csv's first write
    assert [(f.target, f.run) for f in store.flags_on([("scores.csv", None)])] == [
        ("external.csv", scored),
        ("raw.csv@v1", versions["f1"]),
    ]
    store.unflag("external.csv")
    store.flag("model2")  # not in the lineage of scores.csv
    assert [(f.target, f.run) for f in store.flags_on([("scores.csv", None)])] == [
        ("raw.csv@v1", versions["f1"])
    ]


@pytest.fixture
def reads(log, versions) -> dict[str, int]:
    """Runs reading raw.csv at v1, at v2, and unversioned while v1 then v2 was the latest."""
    return {
        **versions,
        "read_v1": log("read", [("raw.csv", "v1")], [], 20),
        "read_v2": log("read", [("raw.csv", "v2")], [], 20),
        "unversioned_v1": log("read", ["raw.csv"], [], 5),  # linked to w1: it read v1
        "unversioned_v2": log("read", ["raw.csv"], [], 20),  # linked to w2: it read v2
    }


REACHED = {  # flag -> the reads and writes of raw.csv it reaches
    "raw.csv": {"w1", "w2", "read_v1", "read_v2", "unversioned_v1", "unversioned_v2", "f1", "f2"},
    "raw.csv@v1": {"w1", "read_v1", "unversioned_v1", "f1"},
    "raw.csv@v2": {"w2", "read_v2", "unversioned_v2", "f2"},
}


@pytest.mark.parametrize("flag", sorted(REACHED))
def test_one_definition_of_what_a_flag_reaches(store, reads, flag):
    """The try check (as of each read's start), the gate and the tab's marks agree, read by read."""
    from mltrace_core import flags
    from tests.support.timeline import at

    store.flag(flag)
    marked = {run for run, name, _version, _side in store.lineage_marks(reads.values()).flagged}
    gated = {
        name: {r.run for r in store.check(f"run:{rid}").reasons if r.check == "flagged"}
        for name, rid in reads.items()
    }
    starts = {"read_v1": 20, "read_v2": 20, "unversioned_v1": 5, "unversioned_v2": 20, "f1": 2, "f2": 12}
    read_as = {"read_v1": "v1", "read_v2": "v2", "f1": "v1", "f2": "v2"}
    for name, rid in reads.items():
        expected = name in REACHED[flag]
        assert (rid in marked) == expected, name
        assert (rid in gated[name]) == expected, name
        if name in starts:  # a try reading what this run read, about to start when it did
            with store.session() as s:
                direct = [
                    h
                    for h in flags.flags_on(s, [("raw.csv", read_as.get(name))], at(starts[name]))
                    if h.run is None
                ]
            assert bool(direct) == expected, name


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
