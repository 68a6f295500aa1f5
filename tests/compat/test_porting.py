"""Issue 10, item by item: code written for mltrace 0.17 runs against mltrace_core with its import changed,
and logs what it says (our own tests, beside 0.17's in ``test_upstream_*``)."""

from __future__ import annotations

import inspect
import json
import logging
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

import mltrace_core as mltrace
from mltrace_core import config
from mltrace_core.cli import cli
from tests.support.timeline import at

# 0.17's public functions and the parameter names of each, in order (mltrace/client.py at tag 0.17).
SIGNATURES_017 = {
    "clean_db": [],
    "create_component": ["name", "description", "owner", "tags"],
    "register": [
        "component_name",
        "inputs",
        "outputs",
        "input_vars",
        "output_vars",
        "input_kwargs",
        "output_kwargs",
        "endpoint",
        "staleness_threshold",
        "auto_log",
    ],
    "backtrace": ["output_pointer"],
    "get_history": ["component_name", "limit", "date_lower", "date_upper"],
    "tag_component": ["component_name", "tags"],
    "log_component_run": ["component_run", "set_dependencies_from_inputs", "staleness_threshold"],
    "create_random_ids": ["num_outputs"],
    "get_component_information": ["component_name"],
    "get_component_run_information": ["component_run_id"],
    "web_trace": ["output_id"],
    "get_recent_run_ids": ["limit", "last_run_id"],
    "get_io_pointer": ["io_pointer_id", "io_pointer_val", "create"],
    "set_db_uri": ["uri"],
    "get_db_uri": [],
    "get_git_hash": [],
    "get_git_tags": [],
    "set_address": ["address"],
    "add_notes_to_component_run": ["component_run_id", "notes"],
    "flag_output_id": ["output_id"],
    "unflag_output_id": ["output_id"],
    "review_flagged_outputs": [],
    "get_all_tags": [],
    "get_components": ["tag", "owner"],
    "unflag_all": [],
    "load": ["pathname"],
    "save": ["obj", "pathname"],
}


@pytest.fixture
def default_uri(store_uri):
    mltrace.set_db_uri(store_uri)
    return store_uri


def positional(fn) -> list[str]:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [name for name, p in inspect.signature(fn).parameters.items() if p.kind in kinds]


# -- 1. every public name, same signature -----------------------------------------------------------
def test_every_017_name_is_here_with_its_signature():
    for name, params in SIGNATURES_017.items():
        # our own additions come after 0.17's parameters, keyword-only (get_db_uri's home is the one
        # positional extra, and it has a default)
        assert positional(getattr(mltrace, name))[: len(params)] == params, name
    for name in ("Component", "Test", "ComponentRun", "IOPointer", "components", "tests"):
        assert getattr(mltrace, name) is getattr(mltrace.entities, name)
    assert mltrace.components.PreprocessingComponent and mltrace.tests.OutliersTest
    assert positional(mltrace.Component) == [
        "name",
        "owner",
        "description",
        "beforeTests",
        "afterTests",
        "tags",
    ]
    assert positional(mltrace.IOPointer) == ["name", "value", "pointer_type", "flag"]
    assert positional(mltrace.ComponentRun)[:4] == [
        "component_name",
        "notes",
        "start_timestamp",
        "end_timestamp",
    ]
    defaults = inspect.signature(mltrace.get_recent_run_ids).parameters
    assert defaults["limit"].default == 5 and defaults["last_run_id"].default is None


# -- 2. register ---------------------------------------------------------------------------------------
def test_register_takes_017s_positional_order(default_uri):
    @mltrace.register("clean", ["raw.csv"], ["clean.csv"], ["extra"], ["report"], {}, {}, True, 60, False)
    def clean(extra):
        report = "report.md"
        return report

    assert clean("lookup.csv") == "report.md"
    (run,) = mltrace.get_history("clean")
    assert set(run.inputs) == {"raw.csv", "lookup.csv"}
    assert set(run.outputs) == {"clean.csv", "report.md"}
    detail = mltrace.get_component_run_information(run.id)
    assert dict(detail.pointer_types)["clean.csv"] == "ENDPOINT"  # endpoint=True: the outputs
    assert dict(detail.pointer_types)["raw.csv"] == "DATA"  # inferred from the name, as 0.17


def test_unknown_variable_raises_before_the_function_runs(default_uri):
    ran = []

    @mltrace.register("step", input_vars=["nope"])
    def step():
        ran.append(1)

    with pytest.raises(ValueError, match="nope"):
        step()
    assert ran == [] and mltrace.get_recent_run_ids() == []


def test_problems_found_after_the_function_ran_are_warnings(default_uri, caplog):
    @mltrace.register("step", input_vars=["src"], output_vars=["maybe", "bad"])
    def step(src, write):
        bad = "line\nbreak"  # noqa: F841 -- read by register; not a valid pointer name
        if write:
            maybe = "out.csv"  # noqa: F841 -- read by register
        return 42

    with caplog.at_level(logging.WARNING, logger="mltrace_core"):
        assert step("in.csv", False) == 42  # the return value is never lost
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "'maybe'" in messages and "never assigned" in messages and "control characters" in messages
    (run,) = mltrace.get_history("step")
    assert run.status == "success" and run.inputs == ("in.csv",) and run.outputs == ()


def test_input_kwargs_length_mismatch_raises_before_running(default_uri):
    @mltrace.register("pairs", input_kwargs={"names": "values"})
    def pairs(names, values):
        raise AssertionError("must not run")

    with pytest.raises(ValueError, match="same length"):
        pairs(["a.pkl", "b.pkl"], [1])


# -- 3. Component / Test -----------------------------------------------------------------------------
class Positive(mltrace.Test):
    def __init__(self):
        super().__init__("positive")

    def testPositive(self, x):
        assert x > 0, "x must be positive"


def test_component_tests_are_kept_with_the_run_and_shown_by_inspect(default_uri):
    c = mltrace.Component(
        "scale", "ml-team", "scales x", beforeTests=[Positive], afterTests=[Positive], tags=["ml"]
    )

    @c.run(input_vars=["src"], output_vars=["dest"])
    def scale(src, x):
        dest = f"scaled_{src}"
        x = -x  # the after test sees the local x at return
        return dest

    with pytest.raises(AssertionError, match="must be positive"):
        scale("a.csv", 3)  # before: x=3 passes; after: x=-3 fails, as in 0.17 it raises
    with pytest.raises(AssertionError):
        scale("b.csv", -1)  # the before test fails: the function never runs
    before_failed, after_failed = mltrace.get_history("scale")  # newest first
    detail = mltrace.get_component_run_information(after_failed.id)
    assert detail.status == "failed" and detail.outputs == ("scaled_a.csv",)
    assert [(t.phase, t.name, t.passed) for t in detail.tests] == [
        ("before", "positive.testPositive", True),
        ("after", "positive.testPositive", False),
    ]
    assert "def scale(src, x):" in detail.code_snapshot
    early = mltrace.get_component_run_information(before_failed.id)
    assert early.outputs == () and [t.passed for t in early.tests] == [False]
    component = mltrace.get_component_information("scale")
    assert (component.owner, component.description, tuple(component.tags)) == ("ml-team", "scales x", ("ml",))

    # inspect: the CLI's JSON and human views, and the run page of the web app
    as_json = CliRunner().invoke(cli, ["--db-uri", default_uri, "inspect", str(after_failed.id), "--json"])
    data = json.loads(as_json.output)
    after = data["tests"][1]
    assert (after["phase"], after["name"], after["passed"]) == ("after", "positive.testPositive", False)
    assert after["message"].startswith("AssertionError: x must be positive")
    assert data["pointer_types"] == {"a.csv": "DATA", "scaled_a.csv": "DATA"}
    assert "def scale" in data["code_snapshot"] and "git_hash" in data and "git_tags" in data
    human = CliRunner().invoke(cli, ["--db-uri", default_uri, "inspect", str(after_failed.id)]).output
    assert "positive.testPositive" in human and "failed" in human and "x must be positive" in human


# -- 4. entities ---------------------------------------------------------------------------------------
def test_component_run_and_io_pointer_as_017():
    cr = mltrace.ComponentRun("c", git_hash="abc", code_snapshot=b"def f(): pass")
    assert cr.code_snapshot == "def f(): pass"
    cr.add_inputs(["a.csv", "a.csv", mltrace.IOPointer("a.csv")])
    assert [p.name for p in cr.inputs] == ["a.csv"]  # de-duplicated
    cr.set_upstream("clean")
    cr.set_upstream(["clean", "ingest"])
    assert sorted(cr.dependencies) == ["clean", "ingest"]
    for bad in (
        lambda: setattr(cr, "notes", 3),
        lambda: cr.set_end_timestamp("now"),
        lambda: setattr(cr, "git_hash", 1),
    ):
        with pytest.raises(TypeError):
            bad()
    with pytest.raises(AttributeError):
        cr.component_name = "other"
    copy = mltrace.ComponentRun.from_dictionary(cr.to_dictionary())
    assert copy.to_dictionary() == cr.to_dictionary()
    iop = mltrace.IOPointer("m.pkl", [1, 2, 3], mltrace.PointerType.MODEL, True)
    assert iop.version.startswith("sha256:") and iop.value == [1, 2, 3] and iop.flag
    assert mltrace.IOPointer("x", "v1") == mltrace.IOPointer("x", version="v1")
    assert json.loads(repr(iop)) == {"name": "m.pkl", "pointer_type": "MODEL", "flag": True}


def test_values_are_versions_and_lineage_follows_them(default_uri):
    def log(component, inputs=(), outputs=(), minute=0):
        cr = mltrace.ComponentRun(component, start_timestamp=at(minute), end_timestamp=at(minute + 1))
        cr.add_inputs(inputs)
        cr.add_outputs(outputs)
        return mltrace.log_component_run(cr)

    first = log("train", outputs=[mltrace.IOPointer("model", value={"w": [1, 2]})], minute=0)
    log("train", outputs=[mltrace.IOPointer("model", value={"w": [3, 4]})], minute=2)
    # a reader of the first value depends on the run that wrote it, not on the latest writer of the name
    reader = log("score", inputs=[mltrace.IOPointer("model", value={"w": [1, 2]})], minute=4)
    assert mltrace.get_component_run_information(reader).dependencies == (first,)

    @mltrace.register("featurize", output_kwargs={"path": "table"})
    def featurize():
        path, table = "features", [[1, 2], [3, 4]]  # noqa: F841 -- read by register
        return table

    @mltrace.register("fit", input_kwargs={"path": "table"})
    def fit(path, table):
        return len(table)

    fit("features", featurize())
    fitted, written = mltrace.get_recent_run_ids(2)
    assert mltrace.get_component_run_information(fitted).dependencies == (written,)


def test_load_and_save_are_the_runs_inputs_and_outputs(default_uri, tmp_path):
    @mltrace.register("make")
    def make():
        return mltrace.save({"rows": 3}, str(tmp_path / "table.pkl"))

    @mltrace.register("use")
    def use(path):
        return mltrace.load(path)["rows"]

    assert use(make()) == 3
    used, made = mltrace.get_recent_run_ids(2)
    assert mltrace.get_component_run_information(used).dependencies == (made,)


# -- 5. configuration ----------------------------------------------------------------------------------
def test_db_uri_and_db_server_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MLTRACE_HOME", str(tmp_path))
    sqlite_default = f"sqlite:///{tmp_path / 'mltrace.db'}"
    assert mltrace.get_db_uri() == sqlite_default
    monkeypatch.setenv("DB_SERVER", "db.internal")
    assert mltrace.get_db_uri() == "postgresql://admin:admin@db.internal:5432/sqlalchemy"  # 0.17's meaning
    monkeypatch.setenv("DB_URI", "postgresql://team@pg/lineage")
    assert mltrace.get_db_uri() == "postgresql://team@pg/lineage"
    # The Airflow hook's fallback passes its home and leaves 0.17's generic names out.
    assert config.get_db_uri(home=tmp_path / "airflow") == f"sqlite:///{tmp_path / 'airflow' / 'mltrace.db'}"
    monkeypatch.setenv("MLTRACE_DB_URI", "sqlite:///ours.db")
    assert mltrace.get_db_uri() == "sqlite:///ours.db"
    mltrace.set_db_uri("sqlite:///set.db")
    assert mltrace.get_db_uri() == "sqlite:///set.db"


def test_a_ported_pipeline_logs_to_the_store_db_uri_names(store_uri, monkeypatch):
    monkeypatch.setenv("DB_URI", store_uri)
    mltrace.create_component("clean", "", "")
    assert [c.name for c in mltrace.Store(store_uri).get_components()] == ["clean"]


def test_test_uri_is_a_throwaway_store():
    mltrace.set_db_uri("test")
    mltrace.create_component("c", "d", "o")
    assert mltrace.get_component_information("c").owner == "o"
    assert config.normalize_uri("test").startswith("sqlite:///")


def test_set_address_logs_over_http_to_the_host():
    # 0.17 swapped the host of its server database; here the host's mltrace web API takes the writes
    # (tests/web/test_remote.py logs through a real server).
    mltrace.set_address("10.0.0.1")
    try:
        assert config.api_url() == "http://10.0.0.1:8080/mltrace"
    finally:
        mltrace.set_address(None)
    assert config.api_url() is None


# -- 6. errors -----------------------------------------------------------------------------------------
def test_errors_are_017s_builtin_types_and_ours(default_uri):
    checks = [
        (RuntimeError, lambda: mltrace.log_component_run(mltrace.ComponentRun("c"))),
        (RuntimeError, lambda: mltrace.get_component_information("nope")),
        (RuntimeError, lambda: mltrace.get_component_run_information(99)),
        (RuntimeError, lambda: mltrace.flag_output_id("nope")),
        (RuntimeError, lambda: mltrace.tag_component("nope", ["t"])),
        (RuntimeError, lambda: mltrace.backtrace(5)),
        (RuntimeError, lambda: mltrace.add_notes_to_component_run(99, "x")),
        (RuntimeError, lambda: mltrace.get_io_pointer("nope", create=False)),
        (RuntimeError, lambda: mltrace.get_recent_run_ids(5, last_run_id=99)),
        (TypeError, lambda: mltrace.ComponentRun("c").set_start_timestamp("yesterday")),
        (TypeError, lambda: mltrace.add_notes_to_component_run(1, ["not text"])),
        (ValueError, lambda: mltrace.register("c", input_vars=["x"])(lambda: None)()),
    ]
    for kind, call in checks:
        with pytest.raises(kind) as info:
            call()
        assert isinstance(info.value, mltrace.MltraceError), info.value


# -- 7. query results answer 0.17's names ----------------------------------------------------------------
def test_records_answer_017s_names(default_uri):
    up = mltrace.ComponentRun("ingest", start_timestamp=at(0), end_timestamp=at(1), git_hash="abc")
    up.git_tags = ["v1"]
    up.code_snapshot = "def ingest(): ..."
    up.add_output("raw.csv")
    mltrace.log_component_run(up)
    down = mltrace.ComponentRun("clean", start_timestamp=at(2), end_timestamp=at(3), notes="n")
    down.add_input("raw.csv")
    rid = mltrace.log_component_run(down)
    (run,) = mltrace.get_history("ingest")
    assert (run.component_name, run.start_timestamp, run.end_timestamp) == ("ingest", at(0), at(1))
    assert (run.git_hash, run.git_tags, run.code_snapshot) == ("abc", ("v1",), "def ingest(): ...")
    detail = mltrace.get_component_run_information(rid)
    as_017 = detail.to_dictionary()
    assert as_017["dependencies"] == ["ingest"] and list(detail.dependencies) == [run.id]  # ours: run ids
    assert [p.name for p in as_017["inputs"]] == ["raw.csv"] and as_017["notes"] == "n"
    assert set(as_017) == set(mltrace.ComponentRun("x").to_dictionary())
    ((depth, traced),) = mltrace.backtrace("raw.csv")
    assert traced.git_hash == "abc" and depth == 0
    assert mltrace.get_components()[0].to_dict().keys() == {
        "name",
        "description",
        "owner",
        "tags",
        "run_count",
        "latest_run",
    }


# -- 8. history with dates, recent ids with paging ---------------------------------------------------------
def test_history_between_dates_and_recent_ids_by_page(default_uri):
    ids = []
    for day in range(5):
        cr = mltrace.ComponentRun(
            "daily",
            start_timestamp=datetime(2026, 3, 1 + day, 12),
            end_timestamp=datetime(2026, 3, 1 + day, 13),
        )
        ids.append(mltrace.log_component_run(cr))
    picked = mltrace.get_history("daily", 10, datetime(2026, 3, 2), "2026-03-04T12:00:00")
    assert [r.id for r in picked] == [ids[3], ids[2], ids[1]]
    aware = datetime(2026, 3, 3, 14, tzinfo=timezone(timedelta(hours=2)))  # 12:00 UTC
    assert [r.id for r in mltrace.get_history("daily", date_lower=aware)] == ids[:1:-1]
    assert mltrace.get_recent_run_ids() == ids[::-1]
    assert mltrace.get_recent_run_ids(2) == [ids[4], ids[3]]
    assert mltrace.get_recent_run_ids(2, last_run_id=ids[3]) == [ids[2], ids[1]]


def test_web_trace_is_017s_tree(default_uri):
    with mltrace.run("ingest", outputs=["raw.csv"]):
        pass
    with mltrace.run("train", inputs=["raw.csv"], outputs=["model.pkl"]):
        pass
    (tree,) = mltrace.web_trace("model.pkl")
    assert tree["label"] == "train" and tree["id"].startswith("componentrun_")
    output, upstream = tree["childNodes"]
    assert output == {
        "id": "iopointer_model.pkl",
        "label": "model.pkl",
        "hasCaret": False,
        "parent": tree["id"],
        "icon": "function",
    }
    assert upstream["label"] == "ingest" and upstream["childNodes"][0]["icon"] == "database"
    json.dumps(tree)
    with pytest.raises(RuntimeError):
        mltrace.web_trace("nothing-wrote-this")


# -- 2. staleness_threshold: 0.17's staleness rules for the runs logged through its API ---------------
def logged(component, start, end, inputs=(), outputs=(), **options):
    cr = mltrace.ComponentRun(component, start_timestamp=start, end_timestamp=end)
    for name in inputs:
        cr.add_input(name)
    for name in outputs:
        cr.add_output(name)
    return mltrace.log_component_run(cr, **options)


def test_staleness_as_017_computed_it(default_uri, caplog):
    old = logged("prep", at(0), at(1), outputs=["a.csv"])
    fresh = logged("prep", at(60), at(61), outputs=["b.csv"])
    # 0.17 measured from the upstream run's *start*, against the threshold given when the run was logged
    caplog.set_level(logging.WARNING, logger="mltrace_core")
    late = logged("train", at(180), at(181), inputs=["a.csv"], staleness_threshold=3 * 3600 - 1)
    assert mltrace.get_component_run_information(late).stale == (
        f"prep (ID {old}) was run 0 days ago.",
        f"prep (ID {old}) has 1 fresher run that began before this component run started.",
    )
    assert f"run {late} of 'train' is stale" in caplog.text  # warned when logged, as 0.17 did
    # exactly at the threshold is not stale; the fresher run of prep still is
    at_bound = logged("train", at(180), at(182), inputs=["a.csv"], staleness_threshold=3 * 3600)
    assert mltrace.get_component_run_information(at_bound).stale == (
        f"prep (ID {old}) has 1 fresher run that began before this component run started.",
    )
    # the default threshold (30 days), and no fresher run of prep: nothing to say
    caplog.clear()
    current = logged("train", at(200), at(201), inputs=["b.csv"])
    assert mltrace.get_component_run_information(current).stale == ()
    assert "stale" not in caplog.text
    # two fresher runs, a dependency older than 30 days, and the messages in a trace and in web_trace
    logged("prep", at(120), at(121), outputs=["c.csv"])
    day45 = at(60 * 24 * 45)
    month = logged("score", day45, at(60 * 24 * 45 + 1), inputs=["a.csv", "b.csv"], outputs=["s.csv"])
    expected = (
        f"prep (ID {old}) was run 45 days ago.",
        f"prep (ID {old}) has 2 fresher runs that began before this component run started.",
        f"prep (ID {fresh}) was run 44 days ago.",
        f"prep (ID {fresh}) has 1 fresher run that began before this component run started.",
    )
    assert mltrace.get_component_run_information(month).stale == expected
    assert mltrace.trace("s.csv").nodes[0].run.stale == expected
    assert mltrace.web_trace("s.csv")[0]["stale"] == list(expected)
    # a run logged without 0.17's API keeps the store's rule (from the end of the writer, 30 days)
    ours = mltrace.ComponentRun("report", start_timestamp=day45, end_timestamp=day45)
    ours.add_input("a.csv")
    rid = mltrace.Store(default_uri).log(ours.to_record())
    assert mltrace.get_component_run_information(rid).stale == (
        f"a.csv was produced 44 days before this run started (by run {old})",
    )
