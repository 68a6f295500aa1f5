"""Schema 0003: what mltrace 0.17 kept with a run (git commit and tags, code snapshot, staleness threshold,
test results) is written with the run, in the same transaction, and survives the spool."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from mltrace_core import InvalidInputError, RunRecord
from mltrace_core.models import run_tests, runs
from mltrace_core.runs import TestResult
from tests.support.timeline import at


def detailed(key: str = "k1", **extra) -> RunRecord:
    return RunRecord(
        key=key,
        component="clean",
        start=at(0),
        end=at(1),
        outputs=(("clean.csv", "sha256:aa", "DATA"),),
        git_hash="0123456789abcdef0123456789abcdef01234567",
        git_tags=("v1.2", "prod"),
        code_snapshot="def clean(df):\n    return df.dropna()\n",
        staleness_threshold=3600,
        tests=(
            TestResult("before", "Outliers.testZscore", True, ""),
            TestResult("after", "Schema.testColumns", False, "AssertionError: no column 'id'"),
        ),
        **extra,
    )


def test_details_are_written_with_the_run(store):
    rid = store.log(detailed())
    with store.session() as s:
        row = s.execute(
            select(runs.c.git_hash, runs.c.git_tags, runs.c.code_snapshot, runs.c.staleness_threshold).where(
                runs.c.id == rid
            )
        ).one()
        tests = s.execute(
            select(run_tests.c.phase, run_tests.c.name, run_tests.c.passed, run_tests.c.message)
            .where(run_tests.c.run_id == rid)
            .order_by(run_tests.c.position)
        ).all()
    assert tuple(row) == (
        "0123456789abcdef0123456789abcdef01234567",
        ["v1.2", "prod"],
        "def clean(df):\n    return df.dropna()\n",
        3600,
    )
    assert [tuple(t) for t in tests] == [
        ("before", "Outliers.testZscore", True, ""),
        ("after", "Schema.testColumns", False, "AssertionError: no column 'id'"),
    ]
    assert store.log(detailed()) == rid  # the same key again writes nothing more
    with store.session() as s:
        assert len(s.execute(select(run_tests.c.name)).all()) == 2


def test_spool_round_trip_and_old_spool_files(tmp_path):
    record = detailed().checked()
    assert RunRecord.from_json(json.loads(json.dumps(record.to_json()))) == record
    old = {"key": "k0", "component": "c", "start": at(0).isoformat(), "end": at(1).isoformat()}
    read = RunRecord.from_json(old).checked()
    assert (read.git_hash, read.git_tags, read.code_snapshot, read.tests) == (None, None, None, ())


@pytest.mark.parametrize(
    "bad",
    [
        {"tests": (("during", "T.test", True, ""),)},
        {"tests": (("before", "T.test", "yes", ""),)},
        {"tests": (("before", "", True, ""),)},
        {"git_hash": "a\nb"},
        {"git_tags": ("ok", "")},
        {"staleness_threshold": -1},
    ],
)
def test_bad_details_are_refused_before_writing(store, bad):
    record = RunRecord(key="k", component="c", start=at(0), end=at(1), **bad)
    with pytest.raises(InvalidInputError):
        store.log(record)
    assert store.get_recent_run_ids() == []
