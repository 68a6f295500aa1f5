"""The OpenLineage ingestion endpoint and the HTTP write API (issue 11, items 1, 2 and 5), through the app as
the API server mounts it, over real stores, with real tokens from a real SimpleAuthManager and the
ingestion key read from Airflow's configuration: every status, gzip, redelivery, out-of-order and START-less
events, the batch's partial success, and (hypothesis) bad bodies that never answer 500 nor write."""

from __future__ import annotations

import gzip
import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mltrace_airflow.web import auth, ingest
from mltrace_airflow.web.app import create_app
from tests.support.openlineage import airflow_facets, dataset, event, new_id
from tests.web.conftest import ROOT, mounted

KEY = "a-long-random-ingestion-key-0123456789"
LINEAGE, BATCH, RUNS = f"{ROOT}/api/v1/lineage", f"{ROOT}/api/v1/lineage/batch", f"{ROOT}/api/runs"


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("AIRFLOW__MLTRACE__INGESTION_KEY", KEY)
    auth.ingestion_key.clear()
    yield KEY
    auth.ingestion_key.clear()


@pytest.fixture
def http(app, key):
    with TestClient(mounted(app)) as c:
        yield c


def as_key(key: str = KEY) -> dict:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def token(airflow_db, auth_manager):
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    def make(role: str) -> dict:
        jwt = auth_manager.generate_jwt(SimpleAuthManagerUser(username=f"u-{role}", role=role))
        return {"Authorization": f"Bearer {jwt}"}

    return make


def post(http, url, body, headers=None, **kw):
    return http.post(
        url,
        content=json.dumps(body),
        headers={"Content-Type": "application/json", **(as_key() if headers is None else headers)},
        **kw,
    )


def stored(store) -> list:
    return [store.get_component_run_information(r.id).to_dict() for r in store.get_recent_runs(1000)]


def footprint(store) -> tuple:
    """How many rows each table holds: what a refused request must leave as it was."""
    from sqlalchemy import func, select

    from mltrace_core.models import Base

    with store.session() as s:
        return tuple(
            s.execute(select(func.count()).select_from(t)).scalar() for t in Base.metadata.sorted_tables
        )


# -- auth ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", [LINEAGE, BATCH, RUNS, f"{ROOT}/api/components"])
def test_writes_need_the_key_or_an_editors_token(http, store, token, url):
    body = [] if url == BATCH else {}
    assert post(http, url, body, headers={}).status_code == 401  # anonymous
    r = post(http, url, body, headers=as_key("wrong-key"))
    assert r.status_code == 401 and KEY not in r.text and r.headers["www-authenticate"] == "Bearer"
    http.cookies.set("_token", token("admin")["Authorization"].split()[1])
    assert post(http, url, body, headers={}).status_code == 401  # a session cookie is not enough
    http.cookies.clear()
    assert post(http, url, body, headers=token("viewer")).status_code == 403
    for allowed in (as_key(), token("op"), token("admin")):
        assert post(http, url, body, headers=allowed).status_code not in (401, 403)
    assert stored(store) == []


def test_without_a_configured_key_no_key_is_accepted(store, token, monkeypatch):
    monkeypatch.delenv("AIRFLOW__MLTRACE__INGESTION_KEY", raising=False)
    auth.ingestion_key.clear()
    with TestClient(mounted(create_app(lambda: store))) as http:
        rid = new_id()
        assert post(http, LINEAGE, event("COMPLETE", rid, 1), headers=as_key("")).status_code == 401
        assert post(http, LINEAGE, event("COMPLETE", rid, 1), headers=token("op")).status_code == 201


def test_the_key_from_a_command_works_and_is_never_logged_or_shown(store, monkeypatch, caplog):
    """The key is sensitive: Airflow's ``_CMD`` form gives it, and neither the logs (at DEBUG) nor any
    answer ever carry it, for a right key or a wrong one."""
    secret = "key-from-a-command-0123456789abcdef"
    monkeypatch.delenv("AIRFLOW__MLTRACE__INGESTION_KEY", raising=False)
    monkeypatch.setenv("AIRFLOW__MLTRACE__INGESTION_KEY_CMD", f"echo {secret}")
    auth.ingestion_key.clear()
    caplog.set_level("DEBUG")
    try:
        with TestClient(mounted(create_app(lambda: store))) as http:
            answers = [
                post(http, LINEAGE, event("COMPLETE", new_id(), 1), headers=as_key(secret)),
                post(http, LINEAGE, event("COMPLETE", new_id(), 1), headers=as_key(secret[:-1])),
                post(http, LINEAGE, {"eventTime": "x"}, headers=as_key(secret)),
                post(http, BATCH, [{"run": {}}], headers=as_key(secret)),
            ]
    finally:
        auth.ingestion_key.clear()
    assert [r.status_code for r in answers] == [201, 401, 422, 200]
    assert len(stored(store)) == 1
    assert all(secret[:-1] not in r.text and secret[:-1] not in str(r.headers) for r in answers)
    assert caplog.records and secret[:-1] not in caplog.text


# -- one event --------------------------------------------------------------------------------------------------
def test_an_event_is_stored_and_answered_201_with_an_empty_body(http, store):
    rid = new_id()
    r = post(http, LINEAGE, event("START", rid, 0, "etl.load", inputs=["/in.csv"]))
    assert (r.status_code, r.content) == (201, b"")
    r = post(
        http, LINEAGE, event("COMPLETE", rid, 1, "etl.load", outputs=[dataset("t", "postgres://h:5432")])
    )
    assert r.status_code == 201
    (run,) = stored(store)
    assert (run["status"], run["inputs"], run["outputs"]) == ("success", ["/in.csv"], ["postgres://h:5432/t"])


def test_gzip_bodies(http, store):
    rid = new_id()
    raw = gzip.compress(json.dumps(event("COMPLETE", rid, 1, "zipped")).encode())
    r = http.post(
        LINEAGE,
        content=raw,
        headers={**as_key(), "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert r.status_code == 201 and [run["component"] for run in stored(store)] == ["zipped"]
    bad = http.post(LINEAGE, content=b"\x1f\x8bnot gzip", headers={**as_key(), "Content-Encoding": "gzip"})
    assert bad.status_code == 400 and "gzip" in bad.json()["detail"]
    other = http.post(LINEAGE, content=b"{}", headers={**as_key(), "Content-Encoding": "br"})
    assert other.status_code == 415


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b'{"a": NaN}', b"[" * 100_000])
def test_malformed_json_is_400(http, store, raw):
    r = http.post(LINEAGE, content=raw, headers={**as_key(), "Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["detail"]
    assert stored(store) == []


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e["run"].pop("runId"), "run.runId"),
        (lambda e: e["job"].pop("namespace"), "job.namespace"),
        (lambda e: e["job"].pop("name"), "job.name"),
        (lambda e: e.pop("eventTime"), "eventTime"),
        (lambda e: e["outputs"].append({"namespace": "file"}), "outputs[1].name"),
    ],
)
def test_an_event_missing_a_field_is_422_naming_it(http, store, mutate, field):
    body = event("COMPLETE", new_id(), 1, outputs=["/ok.csv"])
    mutate(body)
    r = post(http, LINEAGE, body)
    assert r.status_code == 422 and r.json()["detail"].startswith(field + ":")
    assert stored(store) == []


def test_bodies_over_the_limit_are_413(http, store, monkeypatch):
    big = event("COMPLETE", new_id(), 1, outputs=[f"/data/{i:07d}.csv" for i in range(250_000)])
    r = post(http, LINEAGE, big)
    assert r.status_code == 413 and "4 MiB" in r.json()["detail"]
    # gzip does not get around it: the limit counts the inflated body
    raw = gzip.compress(json.dumps(big).encode())
    assert len(raw) < ingest.MAX_EVENT_BYTES
    r = http.post(LINEAGE, content=raw, headers={**as_key(), "Content-Encoding": "gzip"})
    assert r.status_code == 413
    monkeypatch.setattr(ingest, "MAX_BATCH_BYTES", 1 << 20)
    assert post(http, BATCH, [big]).status_code == 413
    assert stored(store) == []


def test_redelivered_out_of_order_and_start_less_events(http, store):
    a, b = new_id(), new_id()
    facets = airflow_facets("dag", "task")
    events = [
        event("COMPLETE", a, 3, "dag.task", outputs=["/out"], run_facets=facets),
        event("START", a, 1, "dag.task", inputs=["/in"], run_facets=facets),
        event("COMPLETE", a, 3, "dag.task", outputs=["/out"], run_facets=facets),  # redelivered
        event("COMPLETE", b, 5, "skipped.task"),  # no START at all (a skipped task)
    ]
    for e in events:
        assert post(http, LINEAGE, e).status_code == 201
    runs = {r["component"]: r for r in stored(store)}
    assert (runs["dag.task"]["start"], runs["dag.task"]["inputs"], runs["dag.task"]["outputs"]) == (
        "2026-01-01T00:01:00+00:00",
        ["/in"],
        ["/out"],
    )
    assert runs["skipped.task"]["status"] == "success" and len(runs) == 2


# -- batches ------------------------------------------------------------------------------------------------------
def test_a_batch_stores_what_it_can_and_says_what_it_could_not(http, store):
    rid = new_id()
    bad = event("COMPLETE", new_id(), 1)
    del bad["job"]["name"]
    r = post(
        http,
        BATCH,
        [event("START", rid, 0, "b", inputs=["/in"]), bad, "not an event", event("COMPLETE", rid, 1, "b")],
    )
    assert r.status_code == 200
    answer = r.json()
    assert answer["status"] == "partial_success"
    assert answer["summary"] == {
        "received": 4,
        "successful": 2,
        "failed": 2,
        "retriable": 0,
        "non_retriable": 2,
    }
    assert [(f["index"], f["retriable"]) for f in answer["failed_events"]] == [(1, False), (2, False)]
    assert answer["failed_events"][0]["reason"].startswith("job.name:")
    (run,) = stored(store)
    assert (run["component"], run["status"], run["inputs"]) == ("b", "success", ["/in"])


def test_a_whole_batch_succeeds(http, store):
    ids = [new_id() for _ in range(3)]
    events = [
        e
        for i, rid in enumerate(ids)
        for e in (event("START", rid, i, f"j{i}"), event("COMPLETE", rid, i + 1, f"j{i}"))
    ]
    r = post(http, BATCH, events)
    assert r.json() == {
        "status": "success",
        "summary": {"received": 6, "successful": 6, "failed": 0, "retriable": 0, "non_retriable": 0},
        "failed_events": [],
    }
    assert sorted(run["component"] for run in stored(store)) == ["j0", "j1", "j2"]
    assert post(http, BATCH, {"not": "an array"}).status_code == 422


# -- the HTTP write API -------------------------------------------------------------------------------------------
def run_json(key: str, overrides: dict | None = None) -> dict:
    body = {
        "key": key,
        "component": "remote.train",
        "start": "2026-01-01T00:00:00Z",
        "end": "2026-01-01T00:01:00Z",
        "status": "success",
        "inputs": ["file:///data/features.csv"],
        "outputs": ["/models/m.pkl"],
        "input_versions": {"file:///data/features.csv": "sha256:1"},
        "notes": "from a container",
        "component_tags": ["remote"],
    }
    return {**body, **(overrides or {})}


def test_a_run_is_logged_once_whatever_the_retries(http, store):
    first = post(http, RUNS, run_json("uuid:1"))
    again = post(http, RUNS, run_json("uuid:1"))
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    (run,) = stored(store)
    assert (run["component"], run["input_versions"], run["outputs"], run["component_tags"]) == (
        "remote.train",
        {"/data/features.csv": "sha256:1"},
        ["/models/m.pkl"],
        ["remote"],
    )


def test_the_json_inspect_prints_logs_the_same_run(http, store, log):
    rid = log("local", ["a.csv"], [("b.csv", "v2")], 0, notes="n")
    printed = store.get_component_run_information(rid).to_dict()
    r = post(http, RUNS, {**printed, "key": "copied", "component": "copy"})
    copy = store.get_component_run_information(r.json()["id"]).to_dict()
    for field in ("start", "end", "status", "inputs", "outputs", "output_versions", "notes"):
        assert copy[field] == printed[field], field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"key": None}, "key"),
        ({"start": "soon"}, "start"),
        ({"inputs": [3]}, "inputs[0]"),
        ({"status": "ok"}, "status"),
    ],
)
def test_a_run_the_store_cannot_take_is_422(http, store, change, field):
    r = post(http, RUNS, run_json("uuid:2", change))
    assert r.status_code == 422 and r.json()["detail"].startswith(field), r.json()
    assert stored(store) == []


# -- anything at all ----------------------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)


@st.composite
def near_events(draw):
    """A valid event with one field replaced by anything, or dropped."""
    body = event(
        draw(st.sampled_from(["START", "COMPLETE", "FAIL", None])), new_id(), 1, inputs=["/a"], outputs=["/b"]
    )
    path = draw(
        st.sampled_from(
            [
                ("eventTime",),
                ("eventType",),
                ("run",),
                ("run", "runId"),
                ("run", "facets"),
                ("job",),
                ("job", "name"),
                ("job", "namespace"),
                ("job", "facets"),
                ("inputs",),
                ("outputs",),
                ("run", "facets", "airflow"),
                ("run", "facets", "parent"),
                ("run", "facets", "errorMessage"),
            ]
        )
    )
    target = body
    for part in path[:-1]:
        target = target[part]
    if draw(st.booleans()):
        target.pop(path[-1], None)
    else:
        target[path[-1]] = draw(json_values)
    return body


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(json_values, near_events(), st.binary(max_size=64)), batch=st.booleans())
def test_any_body_gets_an_answer_never_a_500_and_a_refused_one_writes_nothing(http, store, body, batch):
    before = footprint(store)
    if isinstance(body, bytes):
        r = http.post(BATCH if batch else LINEAGE, content=body, headers=as_key())
    else:
        r = post(http, BATCH if batch else LINEAGE, [body] if batch else body)
    assert r.status_code in (200, 201, 400, 413, 415, 422), r.text
    if r.status_code >= 400 or (batch and r.json()["summary"]["failed"]):
        assert footprint(store) == before
