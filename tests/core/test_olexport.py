"""`mltrace export --openlineage`: every stored run as spec-valid OpenLineage events, streamed."""

from __future__ import annotations

import json
import uuid

import pytest
from click.testing import CliRunner

import mltrace_core
from mltrace_core import ExternalIdentity, olevents, olexport, olids
from mltrace_core.cli import cli
from tests.support.openlineage import validate_event
from tests.support.timeline import at

OL_RUN, DAG_RUN = str(uuid.uuid4()), str(uuid.uuid4())
AIRFLOW_RUN = "manual__2026-01-01T00:00:00+00:00"


@pytest.fixture
def pipeline(store, log):
    ids = {
        "ingest": log("ingest", [], [("/data/raw.csv", "sha256:aa"), "s3://bucket/raw/x.parquet"], 0),
        "clean": log("clean", [("/data/raw.csv", "sha256:aa")], ["warehouse.customers"], 2, notes="n"),
        "train": log(
            "churn.train",
            ["warehouse.customers", "s3://bucket/raw/x.parquet"],
            ["/models/m.pkl"],
            4,
            external=ExternalIdentity(
                "churn", AIRFLOW_RUN, "train", 2, -1, "http://x/ti", OL_RUN, "prod", DAG_RUN
            ),
        ),
        "score": log(
            "churn.score",
            ["/models/m.pkl"],
            [],
            6,
            status="failed",
            error="ValueError: boom",
            external=ExternalIdentity("churn", AIRFLOW_RUN, "score", 1, 3),
        ),
        "stopped": log("clean", [("/data/raw.csv", "sha256:aa")], [], 8, status="aborted"),
    }
    store.tag_component("clean", ["data", "etl"])
    return ids


def export(store, *args) -> tuple[list[dict], str]:
    result = CliRunner().invoke(
        cli, ["--db-uri", store.uri, "export", "--openlineage", *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    return [json.loads(line) for line in lines], result.stderr


def test_every_run_becomes_valid_start_and_end_events(store, pipeline):
    events, said = export(store)
    assert "Exported 5 runs" in said
    for event in events:
        validate_event(event)
    kinds = [(e["run"]["facets"]["mltrace_run"]["id"], e["eventType"]) for e in events]
    assert kinds == [
        (pipeline["ingest"], "START"),
        (pipeline["ingest"], "COMPLETE"),
        (pipeline["clean"], "START"),
        (pipeline["clean"], "COMPLETE"),
        (pipeline["train"], "START"),
        (pipeline["train"], "COMPLETE"),
        (pipeline["score"], "START"),
        (pipeline["score"], "FAIL"),
        (pipeline["stopped"], "START"),
        (pipeline["stopped"], "ABORT"),
    ]
    by_run = {}
    for e in events:
        by_run.setdefault(e["run"]["facets"]["mltrace_run"]["id"], []).append(e)
    start, end = by_run[pipeline["ingest"]]
    assert start["eventTime"] == at(0).isoformat() and end["eventTime"] == at(1).isoformat()
    assert start["run"]["runId"] == end["run"]["runId"]
    detail = store.get_component_run_information(pipeline["ingest"])
    assert start["run"]["runId"] == olids.run_id_of_key(store_key(store, pipeline["ingest"]), detail.start)
    assert end["outputs"] == [
        {
            "namespace": "file",
            "name": "/data/raw.csv",
            "facets": {"version": end["outputs"][0]["facets"]["version"]},
        },
        {"namespace": "s3://bucket", "name": "raw/x.parquet"},
    ]
    assert end["outputs"][0]["facets"]["version"]["datasetVersion"] == "sha256:aa"
    assert start["job"] == {"namespace": "default", "name": "ingest", "facets": {}}


def store_key(store, run_id: int) -> str:
    from sqlalchemy import select

    from mltrace_core.models import runs

    with store.session() as s:
        return s.execute(select(runs.c.key).where(runs.c.id == run_id)).scalar_one()


def test_an_airflow_try_keeps_its_run_id_job_and_parent(store, pipeline):
    events, _ = export(store, "--component", "churn.train")
    start, end = events
    assert start["run"]["runId"] == OL_RUN and start["job"] == {
        "namespace": "prod",
        "name": "churn.train",
        "facets": {},
    }
    parent = end["run"]["facets"]["parent"]
    assert parent["run"] == {"runId": DAG_RUN} and parent["job"] == {"namespace": "prod", "name": "churn"}
    assert parent["root"] == {"run": {"runId": DAG_RUN}, "job": {"namespace": "prod", "name": "churn"}}
    airflow = end["run"]["facets"]["airflow"]
    assert airflow["dag"] == {"dag_id": "churn"} and airflow["task"] == {"task_id": "train"}
    assert airflow["dagRun"] == {"dag_id": "churn", "run_id": AIRFLOW_RUN}
    assert airflow["taskInstance"] == {"try_number": 2, "log_url": "http://x/ti"}  # map_index -1 left out
    assert airflow["taskUuid"] == OL_RUN
    inputs = [(d["namespace"], d["name"]) for d in end["inputs"]]
    assert inputs == [("s3://bucket", "raw/x.parquet"), ("mltrace", "warehouse.customers")]
    assert end["outputs"] == [{"namespace": "file", "name": "/models/m.pkl"}]


def test_failed_and_aborted_runs_keep_inputs_and_error_but_no_outputs(store, pipeline):
    events, _ = export(store, "--component", "churn.score")
    fail = events[-1]
    assert fail["eventType"] == "FAIL" and fail["outputs"] == []
    assert fail["run"]["facets"]["errorMessage"]["message"] == "ValueError: boom"
    assert fail["run"]["facets"]["airflow"]["taskInstance"]["map_index"] == 3
    # A try recorded before 0006 has no parent id: a stable one per DAG run, the same for all its tries.
    legacy = fail["run"]["facets"]["parent"]["run"]["runId"]
    assert uuid.UUID(legacy) and legacy != DAG_RUN
    assert fail["job"]["namespace"] == "default"


def test_filters_and_output_file(store, pipeline, tmp_path):
    out = tmp_path / "events.jsonl"
    events, said = export(store, "--component", "clean", "-o", str(out))
    assert events == [] and f"Exported 2 runs as OpenLineage events to {out}" in said
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["eventType"] for x in lines] == ["START", "COMPLETE", "START", "ABORT"]
    assert json.loads(lines[0])["run"]["facets"]["mltrace_run"]["tags"] == ["data", "etl"]
    assert json.loads(lines[0])["run"]["facets"]["mltrace_run"]["notes"] == "n"
    since, _ = export(store, "--since", at(4).isoformat())
    assert {e["run"]["facets"]["mltrace_run"]["id"] for e in since} == {
        pipeline["train"],
        pipeline["score"],
        pipeline["stopped"],
    }
    assert export(store, "--component", "nothing-by-that-name")[0] == []


def test_pages_stream_the_same_events(store, pipeline):
    whole = [e for page in olexport.events(store, "default") for e in page]
    small = list(olexport.events(store, "default", limit=2))
    assert [len(p) for p in small] == [4, 4, 2] and [e for p in small for e in p] == whole


@pytest.fixture
def empty_copy(store_uri, request, tmp_path):
    """Another empty store on the same backend as ``store``."""
    if store_uri.startswith("sqlite"):
        uri = f"sqlite:///{tmp_path / 'copy.db'}"
    else:
        uri = request.getfixturevalue("fresh_pg_database")
    copy = mltrace_core.Store(uri)
    yield copy
    copy.dispose()


def comparable(store) -> dict:
    """Every run of ``store`` by its OpenLineage run id, with what a round trip must keep, and its lineage
    (upstream runs by OpenLineage run id). Ids, namespaces and parents a run did not record are the ones an
    export gives it."""
    details = [store.get_component_run_information(i) for i in store.get_recent_run_ids(1000)]
    empty = ExternalIdentity()
    ol_id = {
        d.id: (d.external or empty).openlineage_run_id or olids.run_id_of_key(store_key(store, d.id), d.start)
        for d in details
    }
    out = {}
    for d in details:
        ext = d.external or empty
        parent = ext.openlineage_parent_run_id
        if parent is None and ext.dag_id:
            parent = olevents.parent_run_id(ext.dag_id, ext.run_id)
        out[ol_id[d.id]] = (
            d.component,
            d.start,
            d.end,
            d.status,
            d.error,
            tuple(sorted(d.input_versions)),
            tuple(sorted(d.output_versions)),
            (ext.dag_id, ext.run_id, ext.task_id, ext.try_number, ext.map_index, ext.url),
            (ext.openlineage_namespace or "default", parent),
            tuple(sorted(ol_id[u] for u in d.dependencies)),
        )
    return out


def test_export_then_ingest_gives_back_the_same_runs_and_lineage(store, pipeline, empty_copy, tmp_path):
    out = tmp_path / "events.jsonl"
    export(store, "-o", str(out))
    for line in out.read_text(encoding="utf-8").splitlines():
        validate_event(json.loads(line))
    for target in (empty_copy, store):  # an empty store; then the store it came from
        result = CliRunner().invoke(cli, ["--db-uri", target.uri, "ingest", str(out)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    before = comparable(store)
    assert len(before) == 5 and any(row[-1] for row in before.values())  # runs with lineage to keep
    assert comparable(empty_copy) == before  # the same runs and lineage
    assert len(store.get_recent_run_ids(100)) == 5  # ingested into its own store: recognised, not doubled
