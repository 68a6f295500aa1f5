"""impact: what an address reaches downstream, whether it is still live, the Airflow DAG runs to re-run,
paged; on both backends."""

from __future__ import annotations

import gc
import importlib
import json

import pytest
from click.testing import CliRunner

from mltrace_core import ExternalIdentity, InvalidInputError, NotFoundError
from mltrace_core.cli import cli


def etl(run_id: str, task: str) -> ExternalIdentity:
    return ExternalIdentity("etl", run_id, task, 1, -1)


@pytest.fixture
def pipe(log) -> dict[str, int]:
    """raw.csv v1 -> featurize -> feat@a -> train -> model@m1 (DAG run r1), and the same with v2 (r2);
    a report run reads the model and writes nothing; a mapped scorer in r2 runs twice."""
    ids = {"w1": log("ingest", [], [("raw.csv", "v1")], 0), "w2": log("ingest", [], [("raw.csv", "v2")], 10)}
    ids["f1"] = log("featurize", [("raw.csv", "v1")], [("feat", "a")], 2, external=etl("r1", "featurize"))
    ids["m1"] = log("train", ["feat"], [("model", "m1")], 4, external=etl("r1", "train"))
    ids["f2"] = log("featurize", [("raw.csv", "v2")], [("feat", "b")], 12, external=etl("r2", "featurize"))
    ids["m2"] = log("train", ["feat"], [("model", "m2")], 14, external=etl("r2", "train"))
    ids["s0"] = log("score", ["model"], ["scores"], 16, external=ExternalIdentity("etl", "r2", "score", 1, 0))
    ids["s1"] = log(
        "score", ["model"], ["scores"], 16.5, external=ExternalIdentity("etl", "r2", "score", 1, 1)
    )
    ids["report"] = log("report", ["scores"], [], 18)
    return ids


# the modules (the package exports functions of the same names)
impact_module = importlib.import_module("mltrace_core.impact")
versions_module = importlib.import_module("mltrace_core.versions")


def reached(impact) -> dict[int, bool]:
    return {run.id: live for run, live in impact.runs}


def test_a_version_reaches_its_readers_and_what_they_led_to(store, pipe):
    impact = store.impact("raw.csv@v1")
    assert reached(impact) == {pipe["f1"]: False, pipe["m1"]: False}  # both overwritten since (by r2)
    assert [a.to_dict() for a in impact.airflow] == [
        {"dag_id": "etl", "run_id": "r1", "task_ids": ["featurize", "train"]}
    ]
    assert impact.next is None and impact.total == 2


def test_a_pointer_reaches_the_readers_of_every_version(store, pipe):
    impact = store.impact("raw.csv")
    assert reached(impact) == {
        pipe["f1"]: False,
        pipe["m1"]: False,
        pipe["f2"]: True,  # feat@b is still the latest feat
        pipe["m2"]: True,
        pipe["s0"]: False,  # scores is unversioned: s1 wrote it after s0
        pipe["s1"]: True,
        pipe["report"]: False,  # wrote nothing
    }
    assert [r.id for r, _ in impact.runs] == sorted(reached(impact))
    assert [(a.run_id, a.task_ids) for a in impact.airflow] == [
        ("r1", ("featurize", "train")),
        ("r2", ("featurize", "score", "train")),  # sorted, the mapped task once
    ]


def test_a_run_reaches_the_readers_of_its_outputs_never_itself(store, pipe):
    assert set(reached(store.impact(f"run:{pipe['w2']}"))) == {
        pipe["f2"],
        pipe["m2"],
        pipe["s0"],
        pipe["s1"],
        pipe["report"],
    }
    assert set(reached(store.impact(f"run:{pipe['m2']}"))) == {pipe["s0"], pipe["s1"], pipe["report"]}
    assert pipe["w2"] not in reached(store.impact("raw.csv@v2"))  # never the version's writer
    assert store.impact(f"run:{pipe['report']}").runs == ()


def test_large_impacts_are_paged(store, pipe):
    everything = [r.id for r, _ in store.impact("raw.csv").runs]
    pages, after = [], None
    while True:
        page = store.impact("raw.csv", limit=3, after=after)
        assert len(page.airflow) == 2  # every affected DAG run on every page
        pages.append([r.id for r, _ in page.runs])
        after = page.next
        if after is None:
            break
    assert [len(p) for p in pages] == [3, 3, 1] and sum(pages, []) == everything


def test_impact_and_versions_pause_the_collector_while_they_build_and_only_then(store, pipe, monkeypatch):
    """The records of a big page are built with the cyclic collector paused (fasttrace.uncollected), and it
    runs again afterwards, as it does where the caller had paused it itself."""
    seen = []

    def spy(module, name):
        real = getattr(module, name)

        def recording(*args, **kwargs):
            seen.append((name, gc.isenabled()))
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, recording)

    spy(impact_module, "_reach")
    spy(versions_module, "plain_rows")
    store.impact("raw.csv")
    store.versions("raw.csv")
    assert seen == [("_reach", False), ("plain_rows", False)] and gc.isenabled()
    gc.disable()
    try:
        store.impact("raw.csv")
        assert not gc.isenabled()  # the caller's pause is left as it was
    finally:
        gc.enable()


def test_bad_addresses_and_limits_are_clear_errors(store, pipe):
    with pytest.raises(NotFoundError, match="no pointer named 'nope'"):
        store.impact("nope")
    with pytest.raises(NotFoundError, match="no version 'v3' of 'raw.csv'"):
        store.impact("raw.csv@v3")
    with pytest.raises(NotFoundError, match="no run with id 999999"):
        store.impact("run:999999")
    for bad in (0, 10_001, "ten"):
        with pytest.raises(InvalidInputError):
            store.impact("raw.csv", limit=bad)
    with pytest.raises(InvalidInputError):
        store.impact("raw.csv", after="x")


def test_the_cli_prints_the_issue_shape(store, pipe):
    def mltrace(*args, ok=True):
        result = CliRunner().invoke(cli, ["--db-uri", store.uri, *args])
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    data = json.loads(mltrace("impact", "raw.csv@v1", "--json"))
    assert list(data) == ["address", "runs", "airflow", "next"]
    recent = {r["id"]: r for r in json.loads(mltrace("recent", "--json", "-n", "100"))}
    assert data["runs"] == [{**recent[pipe["f1"]], "live": False}, {**recent[pipe["m1"]], "live": False}]
    assert data["airflow"] == [{"dag_id": "etl", "run_id": "r1", "task_ids": ["featurize", "train"]}]
    first = json.loads(mltrace("impact", "raw.csv", "--json", "--limit", "2"))
    assert first["next"] == first["runs"][-1]["id"]
    second = json.loads(mltrace("impact", "raw.csv", "--json", "--limit", "2", "--after", str(first["next"])))
    assert second["runs"][0]["id"] > first["next"]
    shown = mltrace("impact", "raw.csv", "--limit", "2")
    assert "7 runs" in shown and f"--after {first['next']}" in shown and "score, train" in shown
    assert "no pointer named 'nope'" in mltrace("impact", "nope", ok=False)
    assert "Airflow" in shown.splitlines()[2] and "etl r1 featurize" in shown  # tasks' runs: their task


def test_the_cli_has_no_airflow_column_for_runs_logged_from_python(store, log):
    log("ingest", [], ["a.csv"], 0)
    log("clean", ["a.csv"], ["b.csv"], 2)
    header = CliRunner().invoke(cli, ["--db-uri", store.uri, "impact", "a.csv"]).output.splitlines()[2]
    assert "Live" in header and "Airflow" not in header and "┃  ┃" not in header


@pytest.mark.parametrize("address", ["raw.csv", "raw.csv@v1", "raw.csv@v2", "feat@a", "run:{w2}", "run:{m2}"])
def test_downstream_takes_any_address_and_reaches_what_impact_reaches(store, pipe, address):
    address = address.format(**pipe)
    graph = store.downstream(address)
    assert {n.run.id for n in graph.nodes} == set(reached(store.impact(address, limit=1000)))
    assert graph.output == address and graph.direction == "downstream"


def test_downstream_of_a_version_starts_at_its_readers(store, pipe):
    graph = store.downstream("raw.csv@v1")
    assert [(n.depth, n.run.id) for n in graph.nodes] == [(0, pipe["f1"]), (1, pipe["m1"])]
    assert store.downstream(f"run:{pipe['report']}").nodes == ()
    with pytest.raises(NotFoundError):
        store.downstream("raw.csv@v9")


def test_a_page_built_from_plain_rows_equals_the_general_load(store, pipe, log):
    """The page's runs come from one statement's plain rows, except those whose staleness needs the
    general rules (a read of a named version; an input produced nearly 30 days before), which the general
    load gives: every run equal to what queries.load_runs gives, its liveness equal to the definition's."""
    from mltrace_core import impact, queries

    old = log("export", [], ["old.csv"], -60 * 24 * 45)  # written 45 days before its reader
    late = log("late", ["old.csv", "model"], ["late.csv"], 20)
    audit = log("audit", [("raw.csv", "v1")], ["audit.csv"], 20)  # v2 was newer when it started
    page = store.impact("raw.csv", 1000)
    with store.session() as s:
        ids = [run.id for run, _ in page.runs]
        assert {r.id for r, _ in store.impact("old.csv").runs} == {late}
        general = queries.load_runs(s, ids + [late])
        assert [run for run, _ in page.runs] == [general[i] for i in ids]
        [(late_run, _)] = store.impact(f"run:{old}").runs
        assert late_run == general[late] and late_run.stale  # the 30-day rule, from the general path
        assert any("a newer version" in w for w in general[audit].stale)
        assert [i for i in ids if not general[i].stale]  # and runs the plain rows give
        fast = impact._page(s, ids)
        assert {i: live for i, (_, live) in fast.items()} == {r.id: live for r, live in page.runs}
