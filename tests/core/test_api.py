"""The module-level, mltrace-compatible API: ported code changes only its import."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import mltrace_core as mltrace
from mltrace_core import InvalidInputError, MltraceError
from tests.support.timeline import at


@pytest.fixture
def default_uri(store_uri):
    mltrace.set_db_uri(store_uri)
    return store_uri


def test_ported_mltrace_code_runs_unchanged(default_uri):
    # The shape of mltrace 0.17's README example, with only the import changed.
    mltrace.create_component("cleaning", "Cleans the raw data", "shreya", tags=["etl"])
    cr = mltrace.ComponentRun("cleaning")
    cr.set_start_timestamp(at(0))
    cr.add_input("raw.csv")
    cr.add_outputs(["clean.csv", mltrace.IOPointer("clean.parquet", version="etag-1")])
    cr.set_end_timestamp(at(1))
    rid = mltrace.log_component_run(cr)
    assert isinstance(rid, int)
    assert [r.id for r in mltrace.get_history("cleaning")] == [rid]
    info = mltrace.get_component_run_information(rid)
    assert info.outputs == ("clean.csv", "clean.parquet")
    assert dict(info.output_versions)["clean.parquet"] == "etag-1"
    assert mltrace.get_recent_run_ids(5) == [rid]
    assert [c.name for c in mltrace.get_components(tag="etl")] == ["cleaning"]
    assert mltrace.get_tags() == ["etl"]
    assert [(d, r.id) for d, r in mltrace.backtrace("clean.csv")] == [(0, rid)]
    assert mltrace.get_component_information("cleaning").owner == "shreya"


def test_missing_timestamps_raise_and_write_nothing(default_uri):
    cr = mltrace.ComponentRun("c")
    cr.add_output("x")
    with pytest.raises(InvalidInputError, match="start timestamp"):
        mltrace.log_component_run(cr)
    cr.set_start_timestamp()
    with pytest.raises(InvalidInputError, match="end timestamp"):
        mltrace.log_component_run(cr)
    assert mltrace.get_recent_runs() == [] and mltrace.get_components() == []


def test_naive_timestamps_are_utc_and_none_means_now(default_uri):
    cr = mltrace.ComponentRun("c")
    cr.set_start_timestamp(datetime(2026, 3, 1, 12, 0))
    before = datetime.now(timezone.utc)
    cr.set_end_timestamp()
    rid = mltrace.log_component_run(cr)
    run = mltrace.get_component_run_information(rid)
    assert run.start == datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    assert before - timedelta(seconds=1) <= run.end <= datetime.now(timezone.utc)
    cr2 = mltrace.ComponentRun("c")
    cr2.set_start_timestamp(datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))))
    cr2.set_end_timestamp(datetime(2026, 3, 1, 12, 30))
    run2 = mltrace.get_component_run_information(mltrace.log_component_run(cr2))
    assert run2.start == datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def test_rejected_names_write_nothing(default_uri):
    for bad in ["", "   ", "a\x00b", "x" * 1025, "é" * 513, "line\nbreak"]:
        cr = mltrace.ComponentRun("c")
        cr.set_start_timestamp(at(0))
        cr.set_end_timestamp(at(1))
        cr.add_input("fine")
        cr.add_output(bad)
        with pytest.raises(InvalidInputError):
            mltrace.log_component_run(cr)
    with pytest.raises(InvalidInputError):
        mltrace.ComponentRun("c").set_start_timestamp("yesterday")
    assert mltrace.get_recent_runs() == []
    assert issubclass(InvalidInputError, MltraceError)


def test_odd_but_valid_names_round_trip(default_uri):
    names = [
        "s3://bucket/a b/ü.csv",
        "x" * 1024,
        "<script>alert(1)</script>",
        "'; DROP TABLE pointers; --",
        "表/数据",
    ]
    with mltrace.run("odd", inputs=names[:2], outputs=names[2:]):
        pass
    (run,) = mltrace.get_recent_runs(1)
    assert set(run.inputs) | set(run.outputs) == set(names)
    assert mltrace.trace("表/数据").nodes[0].run.id == run.id


def test_register_reads_argument_and_local_variables(default_uri):
    @mltrace.register("featurize", input_vars=["src"], output_vars=["dest", "extras"])
    def featurize(src, n=3):
        dest = src.replace("raw", "features")  # noqa: F841 (read by register)
        extras = [f"stats/{i}.json" for i in range(n)]
        return len(extras)

    assert featurize("data/raw.csv", n=2) == 2
    (run,) = mltrace.get_recent_runs(1)
    assert run.component == "featurize" and run.status == "success"
    assert run.inputs == ("data/raw.csv",)
    assert run.outputs == ("data/features.csv", "stats/0.json", "stats/1.json")


def test_register_logs_a_raising_function_as_failed_and_reraises(default_uri):
    @mltrace.register("train", input_vars=["data"], output_vars=["model"])
    def train(data):
        model = "model.pkl"
        raise RuntimeError(f"diverged on {data} before writing {model}")

    with pytest.raises(RuntimeError, match="diverged"):
        train("features.csv")
    (run,) = mltrace.get_recent_runs(1)
    assert run.status == "failed"
    assert "RuntimeError: diverged" in run.error
    assert run.inputs == ("features.csv",) and run.outputs == ("model.pkl",)


def test_register_keeps_outer_profiler_and_fixed_pointers(default_uri):
    import sys

    calls = []
    sys.setprofile(lambda frame, event, arg: calls.append(event))
    try:

        @mltrace.register("step", inputs=["fixed.in"], outputs=["fixed.out"], input_vars=["x"])
        def step(x):
            return x

        step("dyn.in")
        assert sys.getprofile() is not None  # the caller's profiler is back
    finally:
        sys.setprofile(None)
    assert calls  # and it kept seeing events while the step ran
    (run,) = mltrace.get_recent_runs(1)
    assert run.inputs == ("dyn.in", "fixed.in") and run.outputs == ("fixed.out",)


def test_run_context_manager(default_uri):
    with mltrace.run("evaluate", inputs=["model.pkl"]) as cr:
        cr.add_output("metrics.json")
        cr.notes = "auc=0.91"
    with pytest.raises(KeyError):
        with mltrace.run("evaluate", inputs=["model.pkl"]):
            raise KeyError("label")
    failed, ok = mltrace.get_history("evaluate")
    assert ok.status == "success" and ok.outputs == ("metrics.json",) and ok.notes == "auc=0.91"
    assert failed.status == "failed" and "KeyError" in failed.error


def test_explicit_stores_are_independent(tmp_path):
    one, two = mltrace.Store(f"sqlite:///{tmp_path}/1.db"), mltrace.Store(f"sqlite:///{tmp_path}/2.db")
    with mltrace.run("a", outputs=["x"], store=one):
        pass
    assert len(one.get_recent_runs()) == 1 and two.get_recent_runs() == []


def test_hand_built_records_are_checked_before_writing(store):
    from mltrace_core import RunRecord

    rid = store.log(
        RunRecord(key="k1", component="c", start=at(0), end=at(1), inputs=(("a", None, None),) * 2)
    )
    assert store.get_component_run_information(rid).inputs == ("a",)  # duplicates collapse
    for bad in (
        RunRecord(key="k2", component="c", start=at(1), end=at(0)),
        RunRecord(key="k3", component="c\x00", start=at(0), end=at(1)),
        RunRecord(key="k4", component="c", start=at(0), end=at(1), outputs=(("x", None),)),
        RunRecord(key="k5", component="c", start=at(0), end=at(1), status="weird"),
    ):
        with pytest.raises(InvalidInputError):
            store.log(bad)
    assert store.get_recent_run_ids(10) == [rid]
