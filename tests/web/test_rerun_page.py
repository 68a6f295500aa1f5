"""The re-run action of the review page (web/actions.py): who may, the CSRF token, the plan, and what
happens when Airflow cannot be asked. Clearing through a real Airflow is tests/reliability/test_lineage_actions.py."""

from __future__ import annotations

import json

import pytest

import mltrace_core
from mltrace_core import ExternalIdentity
from tests.support.pages import Page
from tests.support.timeline import at
from tests.web.conftest import ROOT, SESSION_COOKIE, client_as

DAG_RUN = "manual__2026-01-01T00:00:00+00:00"


def token() -> str:
    import hashlib

    return hashlib.sha256(b"mltrace-csrf\0" + SESSION_COOKIE.encode()).hexdigest()


def log(store, component, inputs=(), outputs=(), start=0, external=None):
    run = mltrace_core.ComponentRun(component)
    run.set_start_timestamp(at(start))
    run.set_end_timestamp(at(start + 1))
    for p in inputs:
        run.add_input(*p) if isinstance(p, tuple) else run.add_input(p)
    for p in outputs:
        run.add_output(*p) if isinstance(p, tuple) else run.add_output(p)
    run.external = external
    return store.log(run)


@pytest.fixture
def flagged(store):
    log(store, "ingest", [], [("raw.csv", "v1")], 0)
    ext = ExternalIdentity("churn", DAG_RUN, "train", 1, -1)
    log(store, "churn.train", [("raw.csv", "v1")], [("model.pkl", "m1")], 2, external=ext)
    log(store, "notebook", [("model.pkl", "m1")], [], 4)  # downstream, but no Airflow task
    store.flag("raw.csv@v1", reason="bad export")
    return "raw.csv@v1"


def test_review_shows_each_flags_impact_and_offers_the_rerun_to_editors_only(app, auth_manager, flagged):
    with client_as(app, "admin") as c:
        page = Page(c.get(f"{ROOT}/review").text)
        assert "raw.csv@v1" in page.plain and "2 downstream runs" in page.plain
        assert "churn" in page.plain and DAG_RUN in page.plain
        assert page.field("step") == "preview" and page.field("address") == flagged
    with client_as(app, "viewer") as c:
        text = c.get(f"{ROOT}/review").text
        assert "2 downstream runs" in Page(text).plain
        assert 'name="step"' not in text  # no re-run form for a user who may not edit DAG runs


def test_a_viewer_gets_403_even_with_the_pages_token_and_nothing_is_asked_of_airflow(
    app, auth_manager, flagged, monkeypatch, dead_port
):
    monkeypatch.setenv("MLTRACE_AIRFLOW_URL", f"http://127.0.0.1:{dead_port}")  # asked: 502, not 403
    with client_as(app, "viewer") as c:
        for step in ("preview", "confirm"):
            form = {"csrf_token": token(), "address": flagged, "step": step, "plan": "[]"}
            assert c.post(f"{ROOT}/rerun", data=form).status_code == 403


def test_a_rerun_needs_the_pages_csrf_token_and_a_valid_plan(
    app, auth_manager, flagged, monkeypatch, dead_port
):
    monkeypatch.setenv("MLTRACE_AIRFLOW_URL", f"http://127.0.0.1:{dead_port}")
    with client_as(app, "admin") as c:
        assert c.post(f"{ROOT}/rerun", data={"address": flagged, "step": "preview"}).status_code == 403
        bad = {"csrf_token": "0" * 64, "address": flagged, "step": "preview"}
        assert c.post(f"{ROOT}/rerun", data=bad).status_code == 403
        for plan in ("", "[]", "not json", json.dumps([{"dag_id": "d", "run_id": "r", "task_ids": []}])):
            form = {"csrf_token": token(), "address": flagged, "step": "confirm", "plan": plan}
            assert c.post(f"{ROOT}/rerun", data=form).status_code == 400, plan
        r = c.post(f"{ROOT}/rerun", data={"csrf_token": token(), "address": "no-such", "step": "preview"})
        assert r.status_code == 404


def test_airflow_out_of_reach_is_a_502_naming_it(app, auth_manager, flagged, monkeypatch, dead_port):
    monkeypatch.setenv("MLTRACE_AIRFLOW_URL", f"http://127.0.0.1:{dead_port}")
    with client_as(app, "admin") as c:
        r = c.post(f"{ROOT}/rerun", data={"csrf_token": token(), "address": flagged, "step": "preview"})
        assert r.status_code == 502 and "could not be reached" in Page(r.text).plain


def test_nothing_in_airflow_downstream_means_nothing_to_rerun(
    app, auth_manager, store, monkeypatch, dead_port
):
    monkeypatch.setenv("MLTRACE_AIRFLOW_URL", f"http://127.0.0.1:{dead_port}")
    log(store, "ingest", [], [("raw.csv", "v1")], 0)
    log(store, "notebook", [("raw.csv", "v1")], [], 2)
    store.flag("raw.csv@v1")
    with client_as(app, "admin") as c:
        r = c.post(f"{ROOT}/rerun", data={"csrf_token": token(), "address": "raw.csv@v1", "step": "preview"})
        assert r.status_code == 200 and "there is nothing to re-run" in Page(r.text).plain


def test_the_impact_page_pages_the_runs_and_offers_the_rerun_to_editors_only(app, auth_manager, flagged):
    with client_as(app, "admin") as c:
        first = Page(c.get(f"{ROOT}/impact", params={"address": flagged, "limit": "1"}).text)
        assert "2 downstream runs" in first.plain and DAG_RUN in first.plain
        assert "churn.train" in first.plain and "notebook" not in first.plain
        assert first.field("step") == "preview" and first.field("address") == flagged
        (following,) = [h for h in first.hrefs if "after=" in h]
        second = Page(c.get(following).text)
        assert "notebook" in second.plain and "churn.train" not in second.plain.split("Downstream runs")[1]
        assert not [h for h in second.hrefs if "after=" in h]  # the last page
        assert c.get(f"{ROOT}/impact", params={"address": "raw.csv@v9"}).status_code == 404
    with client_as(app, "viewer") as c:
        text = c.get(f"{ROOT}/impact", params={"address": flagged}).text
        assert "2 downstream runs" in Page(text).plain and 'name="step"' not in text


def test_the_review_page_shows_the_recent_flags_only(app, auth_manager, flagged, store):
    for i in range(30):
        store.flag("raw.csv", reason=f"reason {i}", by="alice")
    with client_as(app, "viewer") as c:
        page = Page(c.get(f"{ROOT}/review").text)
    assert "reason 29" in page.plain and "reason 10" in page.plain and "reason 9 " not in page.plain
    assert "bad export" not in page.plain  # the oldest record: past the first 20
    assert "The 20 most recent flags" in page.plain
    assert len(store.review_flagged_outputs().flags) == 31  # review --json: the whole history
