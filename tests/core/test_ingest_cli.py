"""``mltrace ingest PATH...`` (issue 11, item 6): JSON Lines files, directories of one-event files, single
documents and arrays, gzip; idempotent; a malformed line is reported with its line number, the rest is
loaded, and the exit status is 1."""

from __future__ import annotations

import gzip
import json

from click.testing import CliRunner

from mltrace_core.cli import cli
from tests.support.openlineage import event, new_id


def lines(*events) -> str:
    return "".join(json.dumps(e) + "\n" for e in events)


def ingest(store_uri, *paths):
    return CliRunner().invoke(cli, ["--db-uri", store_uri, "ingest", *map(str, paths)])


def summary(store) -> dict:
    return {
        r.component: (r.status, r.inputs, r.outputs)
        for r in (store.get_component_run_information(x.id) for x in store.get_recent_runs(100))
    }


def test_a_jsonl_file_with_a_bad_line_loads_the_rest_and_says_where(store, store_uri, tmp_path):
    a, b = new_id(), new_id()
    missing_id = event("COMPLETE", new_id(), 3, "broken")
    del missing_id["run"]["runId"]
    path = tmp_path / "events.jsonl"
    path.write_text(
        lines(event("START", a, 0, "a", inputs=["/in"]), event("COMPLETE", a, 1, "a", outputs=["/mid"]))
        + "{this is not json\n"
        + "\n"
        + lines(missing_id, event("START", b, 2, "b", inputs=["/mid"]), event("COMPLETE", b, 3, "b"))
    )
    result = ingest(store_uri, path)
    assert result.exit_code == 1
    assert f"{path}:3: not JSON" in result.output
    assert f"{path}:5: run.runId: missing" in result.output
    assert "2 rejected" in result.output
    assert summary(store) == {"a": ("success", ("/in",), ("/mid",)), "b": ("success", ("/mid",), ())}
    b_run = [r for r in store.get_recent_runs(10) if r.component == "b"][0]
    assert len(b_run.dependencies) == 1


def test_a_directory_of_one_event_files_as_the_file_transport_writes_them(store, store_uri, tmp_path):
    rid = new_id()
    folder = tmp_path / "ol"
    (folder / "nested").mkdir(parents=True)
    (folder / "events-20260101-000000.000001.json").write_text(
        json.dumps(event("START", rid, 0, "job", inputs=["/a"]))
    )
    (folder / "nested" / "events-20260101-000001.000001.json").write_text(
        json.dumps(event("COMPLETE", rid, 1, "job", outputs=["/b"]), indent=2)  # pretty-printed
    )
    (folder / ".hidden").write_text("not an event")
    result = ingest(store_uri, folder)
    assert result.exit_code == 0, result.output
    assert "Ingested 2 events from 2 files: 1 runs written" in result.output
    assert summary(store) == {"job": ("success", ("/a",), ("/b",))}


def test_arrays_and_gzip(store, store_uri, tmp_path):
    a, b = new_id(), new_id()
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps([event("COMPLETE", a, 1, "from.array"), "oops"]))
    zipped = tmp_path / "more.jsonl.gz"
    zipped.write_bytes(gzip.compress(lines(event("COMPLETE", b, 2, "from.gzip")).encode()))
    result = ingest(store_uri, batch, zipped)
    assert result.exit_code == 1 and f"{batch}:1[1]: $: an event is a JSON object" in result.output
    assert set(summary(store)) == {"from.array", "from.gzip"}


def test_ingesting_again_changes_nothing(store, store_uri, tmp_path):
    ids = [new_id() for _ in range(3)]
    path = tmp_path / "e.jsonl"
    path.write_text(
        lines(
            *[
                e
                for i, rid in enumerate(ids)
                for e in (event("START", rid, i, f"j{i}"), event("COMPLETE", rid, i + 1, f"j{i}"))
            ]
        )
    )
    assert ingest(store_uri, path).exit_code == 0
    before = [store.get_component_run_information(r.id).to_dict() for r in store.get_recent_runs(10)]
    assert ingest(store_uri, path).exit_code == 0
    after = [store.get_component_run_information(r.id).to_dict() for r in store.get_recent_runs(10)]
    assert before == after and len(after) == 3


def test_a_run_split_across_two_ingests_is_pending_then_written(store, store_uri, tmp_path):
    rid = new_id()
    first, second = tmp_path / "1.jsonl", tmp_path / "2.jsonl"
    first.write_text(lines(event("START", rid, 0, "long", inputs=["/in"])))
    second.write_text(lines(event("COMPLETE", rid, 9, "long", outputs=["/out"])))
    assert "1 pending" in ingest(store_uri, first).output
    assert summary(store) == {"long": ("running", (), ())}
    assert "1 runs written" in ingest(store_uri, second).output
    assert summary(store) == {"long": ("success", ("/in",), ("/out",))}
