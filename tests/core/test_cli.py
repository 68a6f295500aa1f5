"""The `mltrace` command against real stores: human views, --json shapes, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from mltrace_core import db
from mltrace_core.cli import cli

RUN_KEYS = {
    "id",
    "component",
    "start",
    "end",
    "status",
    "inputs",
    "outputs",
    "dependencies",
    "notes",
    "stale",
}


@pytest.fixture
def pipeline(store, log):
    ids = {
        "ingest": log("ingest", [], ["raw.csv"], 0),
        "featurize": log("featurize", ["raw.csv"], ["s3://bucket/a b/ü.csv"], 2),
        "train": log("train", ["s3://bucket/a b/ü.csv", "[bold]params"], ["model.pkl"], 4, notes="lr=0.1"),
    }
    store.create_component("train", "fits", "ana", ["ml"])
    return ids


def mltrace(store, *args, ok=True):
    result = CliRunner().invoke(cli, ["--db-uri", store.uri, *args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_recent_table_and_json(store, pipeline):
    assert "featurize" in mltrace(store, "recent").stdout
    runs = json.loads(mltrace(store, "recent", "--limit", "2", "--json").stdout)
    assert [r["id"] for r in runs] == [pipeline["train"], pipeline["featurize"]]
    assert RUN_KEYS <= set(runs[0])
    assert runs[0]["start"] == "2026-01-01T00:04:00+00:00"
    assert runs[0]["inputs"] == ["[bold]params", "s3://bucket/a b/ü.csv"]
    assert runs[0]["dependencies"] == [pipeline["featurize"]]
    assert json.loads(mltrace(store, "--json", "recent").stdout) == json.loads(
        mltrace(store, "recent", "--json").stdout
    )


def test_recent_names_its_staleness_column_only_when_a_run_is_stale(store, pipeline, log):
    header = mltrace(store, "recent").stdout.splitlines()[2]
    assert "Outputs" in header and "Stale" not in header
    assert header.rstrip().endswith("┃") and "┃  ┃" not in header  # no empty, unnamed column
    late = log("score", ["model.pkl"], ["scores.csv"], 60 * 24 * 40)  # 40 days after the model
    lines = mltrace(store, "recent").stdout.splitlines()
    assert "Stale" in lines[2]
    row = next(line for line in lines if line.startswith(f"│ {late:>2} "))
    assert "stale" in row
    assert "stale" not in next(line for line in lines if f" {pipeline['train']} │" in line[:8])


def test_tables_right_align_their_numbers(store, pipeline, log):
    for minute in range(10, 20):
        log("ingest", [], ["raw.csv"], minute)
    lines = mltrace(store, "components").stdout.splitlines()
    row = next(line for line in lines if line.startswith("│ featurize "))
    assert "│    1 │" in row  # the Runs column, under "Runs" (11 for ingest)
    lines = mltrace(store, "recent", "--limit", "20").stdout.splitlines()
    row = next(line for line in lines if " featurize " in line)
    assert row.startswith(f"│ {pipeline['featurize']:>2} │")


@pytest.mark.parametrize("name", ["[/x]", "[bold]b"])
def test_titles_show_names_as_written_not_as_markup(store, log, name):
    log(name, [], ["o.csv"], 0)
    assert mltrace(store, "history", name).stdout.startswith(f"History of {name} ")
    assert mltrace(store, "tag", name).stdout == f"Tag {name}: no components.\n"


def test_history(store, pipeline, log):
    again = log("train", ["s3://bucket/a b/ü.csv"], ["model.pkl"], 10)
    runs = json.loads(mltrace(store, "history", "train", "1", "--json").stdout)
    assert [r["id"] for r in runs] == [again]
    assert "History of train" in mltrace(store, "history", "train").stdout


def test_inspect(store, pipeline):
    out = mltrace(store, "inspect", str(pipeline["train"])).stdout
    assert "[bold]params" in out and "lr=0.1" in out  # printed literally, not as markup
    data = json.loads(mltrace(store, "inspect", str(pipeline["train"]), "--json").stdout)
    assert RUN_KEYS <= set(data) and data["duration"] == 60.0 and data["notes"] == "lr=0.1"


def test_trace_tree_and_json(store, pipeline):
    out = mltrace(store, "trace", "model.pkl").stdout
    assert "Trace of model.pkl" in out and "s3://bucket/a b/ü.csv" in out and f"#{pipeline['ingest']}" in out
    graph = json.loads(mltrace(store, "trace", "model.pkl", "--json").stdout)
    assert set(graph) >= {"output", "nodes", "edges", "truncated"}
    assert graph["output"] == "model.pkl" and graph["truncated"] is False
    assert [(n["id"], n["depth"]) for n in graph["nodes"]] == [
        (pipeline["train"], 0),
        (pipeline["featurize"], 1),
        (pipeline["ingest"], 2),
    ]
    assert RUN_KEYS <= set(graph["nodes"][0])
    assert graph["edges"][0] == {
        "from": pipeline["train"],
        "to": pipeline["featurize"],
        "via": "s3://bucket/a b/ü.csv",
    }
    short = json.loads(mltrace(store, "trace", "model.pkl", "--depth", "1", "--json").stdout)
    assert len(short["nodes"]) == 2 and short["truncated"] is True


def test_downstream(store, pipeline):
    graph = json.loads(mltrace(store, "downstream", "raw.csv", "--json").stdout)
    assert {n["id"] for n in graph["nodes"]} == {pipeline["featurize"], pipeline["train"]}


def test_tag_components_tags(store, pipeline):
    tagged = json.loads(mltrace(store, "tag", "ml", "--json").stdout)
    assert [c["name"] for c in tagged] == ["train"] and tagged[0]["latest_run"]["id"] == pipeline["train"]
    assert "train" in mltrace(store, "tag", "ml").stdout
    assert [
        c["name"] for c in json.loads(mltrace(store, "components", "--owner", "ana", "--json").stdout)
    ] == ["train"]
    assert json.loads(mltrace(store, "tags", "--json").stdout) == ["ml"]


def test_flag_unflag_review(store, pipeline):
    mltrace(store, "flag", "model.pkl")
    review = json.loads(mltrace(store, "review", "--json").stdout)
    assert review["flagged"] == ["model.pkl"]
    assert {r["run"]["id"] for r in review["runs"]} == set(pipeline.values())
    assert all(r["count"] == 1 for r in review["runs"])
    mltrace(store, "unflag", "model.pkl")
    assert json.loads(mltrace(store, "review", "--json").stdout)["flagged"] == []
    mltrace(store, "flag", "raw.csv")
    assert "Unflagged 1" in mltrace(store, "unflag", "--all").stdout
    assert mltrace(store, "unflag", ok=False).exit_code == 2  # neither OUTPUT nor --all


def test_trace_any_version_and_as_of(store, pipeline, log):
    again = log("train", [("s3://bucket/a b/ü.csv", "v2")], [("model.pkl", "m2")], 10)
    latest = json.loads(mltrace(store, "trace", "model.pkl", "--json").stdout)
    assert latest["nodes"][0]["id"] == again
    for args in (["model.pkl", "--as-of", "2026-01-01T00:09:00Z"], [f"run:{pipeline['train']}"]):
        graph = json.loads(mltrace(store, "trace", *args, "--json").stdout)
        assert [n["id"] for n in graph["nodes"]] == [
            pipeline["train"],
            pipeline["featurize"],
            pipeline["ingest"],
        ]
    assert f"#{again}" in mltrace(store, "trace", "model.pkl@m2").stdout


def test_versions_table_and_json(store, pipeline, log):
    again = log("train", [], [("model.pkl", "m2")], 10)
    log("predict", ["model.pkl"], ["scores.csv"], 20)
    rows = json.loads(mltrace(store, "versions", "model.pkl", "--json").stdout)
    assert rows == [
        {
            "version": "m2",
            "run": again,
            "end": "2026-01-01T00:11:00+00:00",
            "status": "success",
            "readers": 1,
        },
        {
            "version": None,
            "run": pipeline["train"],
            "end": "2026-01-01T00:05:00+00:00",
            "status": "success",
            "readers": 0,
        },
    ]
    out = mltrace(store, "versions", "model.pkl").stdout
    assert "Versions of model.pkl" in out and "m2" in out and "(unversioned)" in out
    older = mltrace(store, "versions", "model.pkl", "--start", str(pipeline["train"]), "--json").stdout
    assert json.loads(older) == rows[1:]  # the page from that run's write on
    assert json.loads(mltrace(store, "versions", "model.pkl", "-n", "1", "--json").stdout) == rows[:1]


def test_diff_tree_and_json(store, pipeline, log):
    new = log(
        "train", ["s3://bucket/a b/ü.csv", "[bold]params"], [("model.pkl", "m2")], 10, code_version="c2"
    )
    data = json.loads(mltrace(store, "diff", f"run:{pipeline['train']}", "model.pkl", "--json").stdout)
    assert data == {
        "a": {"address": f"run:{pipeline['train']}", "run": pipeline["train"]},
        "b": {"address": "model.pkl", "run": new},
        "only_a": [],
        "only_b": [],
        "changed": [
            {
                "a": pipeline["train"],
                "b": new,
                "component": "train",
                "differences": {
                    "output_versions": [{"model.pkl": None}, {"model.pkl": "m2"}],
                    "code_version": [None, "c2"],
                    "notes": ["lr=0.1", ""],
                },
            }
        ],
        "first_divergences": [{"a": pipeline["train"], "b": new}],
    }
    out = mltrace(store, "diff", "model.pkl", "model.pkl", "--as-of-a", "2026-01-01T00:06:00Z").stdout
    assert f"~ #{pipeline['train']} → #{new}" in out and "first divergence" in out
    assert "code_version: (none) → 'c2'" in out
    assert f"#{pipeline['featurize']}" not in out  # the unchanged upstream is folded
    assert "No differences" in mltrace(store, "diff", "model.pkl", "model.pkl").stdout


def test_db_upgrade_and_current(bare_uri):
    runner = CliRunner()
    first = runner.invoke(cli, ["--db-uri", bare_uri, "db", "upgrade"])
    assert first.exit_code == 0 and "upgraded from nothing" in first.stdout
    assert "already at revision" in runner.invoke(cli, ["--db-uri", bare_uri, "db", "upgrade"]).stdout
    assert runner.invoke(cli, ["--db-uri", bare_uri, "db", "current"]).stdout.strip() == db.SCHEMA_REVISION


@pytest.mark.parametrize(
    "args",
    [
        ["inspect", "999999"],
        ["inspect", "abc"],
        ["inspect", "0"],
        ["trace", "nope"],
        ["history", "nope"],
        ["flag", "nope"],
        ["trace", "model.pkl", "--as-of", "yesterday"],
        ["trace", "model.pkl", "--as-of", "2020-01-01"],
        ["versions", "nope"],
        ["diff", "model.pkl", "nope"],
        ["diff", "run:1", "model.pkl", "--as-of-a", "1d"],
    ],
)
def test_errors_are_one_line_and_exit_1(store, pipeline, args):
    result = CliRunner().invoke(cli, ["--db-uri", store.uri, *args])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("mltrace: error:")


@pytest.mark.slow  # waits out time bounds or starts a process: in the full run, not test-fast
def test_installed_command_prints_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mltrace_core", "--db-uri", f"sqlite:///{tmp_path}/x.db", "inspect", "7"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == "mltrace: error: no run with id 7"
    assert "Traceback" not in proc.stderr
