"""Fixtures for the web app: the app over a real store (SQLite and PostgreSQL), and clients as users.

Where a test is not about auth, only Airflow's ``get_user`` dependency is replaced (by a real
``SimpleAuthManagerUser``); the permission checks still run through a real ``SimpleAuthManager``.
Anonymous clients replace nothing. Auth with real tokens and the FAB auth manager is covered end to end
in ``test_e2e_browser.py``, whose real API server, store and browser are session fixtures here so that
``test_e2e_trace_view.py`` uses the same ones (one server start for every browser test).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from airflow.api_fastapi import app as airflow_app
from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.api_fastapi.core_api.security import get_user
from fastapi import FastAPI
from fastapi.testclient import TestClient

import mltrace_core
from mltrace_airflow.web.app import create_app
from mltrace_core import ExternalIdentity
from tests.support.airflow_server import Airflow, ApiServer
from tests.support.browser import chrome, have_chromium

ROOT = "/mltrace"
SESSION_COOKIE = "a-session-jwt"  # what the browser's _token cookie would hold; CSRF tokens derive from it

# Names that break naive URL building and HTML: slashes, spaces, unicode, a scheme, markup, % and #.
S3 = "s3://bucket/a b/ü.csv"
EVIL = '<script>alert("x")</script>&amp;.csv'
ODD = "reports/50% off #1?.json"
COMPONENT = "ingest/raw data ü"
TAG = "data sets/ü"


@pytest.fixture
def auth_manager(monkeypatch) -> SimpleAuthManager:
    """A real SimpleAuthManager as the process's auth manager (Airflow's permission checks use it)."""
    manager = SimpleAuthManager()
    monkeypatch.setattr(airflow_app._AuthManagerState, "instance", manager)
    return manager


@pytest.fixture(scope="session")
def shared_app() -> tuple[FastAPI, dict]:
    """One app for the session, showing whatever store the current test put in the returned dict:
    building the app (FastAPI analyses every route's dependencies) took most of the web tests' time."""
    current: dict = {}
    return create_app(lambda: current["store"]), current


@pytest.fixture
def app(store, shared_app) -> Iterator[FastAPI]:
    """The mltrace app over ``store`` (the session's app; a test's dependency overrides end with it)."""
    app, current = shared_app
    current["store"] = store
    yield app
    current.clear()
    app.dependency_overrides.clear()


def mounted(app: FastAPI) -> FastAPI:
    """``app`` under ``/mltrace`` in a parent app, as the Airflow API server mounts it."""
    parent = FastAPI()
    parent.mount(ROOT, app)
    return parent


def client_as(app: FastAPI, role: str | None) -> TestClient:
    """A client for a user with a Simple auth manager role (``None``: a user with no role at all)."""
    app.dependency_overrides[get_user] = lambda: SimpleAuthManagerUser(username=f"u-{role}", role=role)
    client = TestClient(mounted(app))
    client.cookies.set("_token", SESSION_COOKIE)
    return client


@pytest.fixture
def client(app, auth_manager) -> Iterator[TestClient]:
    """An admin: may view and edit."""
    with client_as(app, "admin") as c:
        yield c


@pytest.fixture
def anonymous(app) -> Iterator[TestClient]:
    with TestClient(mounted(app)) as c:
        yield c


@pytest.fixture
def lineage(log, store) -> dict:
    """A small pipeline with awkward names, one failed run, an Airflow-logged run with two tries and a
    mapped task; returns the run ids by role."""
    ids = {}
    ids["ingest"] = log(COMPONENT, [], [S3, (EVIL, "v1")], 0, 1)
    ids["clean"] = log("clean", [S3], ["clean.csv"], 2, 3, notes="dropped 3 rows <b>bold</b>")
    ext1 = ExternalIdentity("churn", "manual__2026-01-01T00:00:00+00:00", "train", 1, -1, "http://x/ti")
    ext2 = ExternalIdentity("churn", "manual__2026-01-01T00:00:00+00:00", "train", 2, -1, "http://x/ti")
    ids["train_try1"] = log(
        "churn.train",
        ["clean.csv", EVIL],
        [],
        4,
        5,
        status="failed",
        external=ext1,
        error="ValueError: <boom>",
    )
    ids["train"] = log("churn.train", ["clean.csv", EVIL], [ODD], 6, 7, external=ext2)
    mapped = ExternalIdentity("churn", "manual__2026-01-01T00:00:00+00:00", "score", 1, 3, None)
    ids["score"] = log("churn.score", [ODD], ["scores/3.csv"], 8, 9, external=mapped)
    store.tag_component(COMPONENT, [TAG, "data"])
    store.tag_component("clean", ["data"])
    return ids


# -- the browser tests' server, store and browser (one each for the whole session) ----------------------
@dataclass(frozen=True)
class Filled:
    """What the store holds after :func:`fill_store`: names the test looks for."""

    final_output: str  # the batch predictions: the end of the lineage
    trace_size: int  # runs in its trace
    train_run: int  # churn_training.train, in that trace
    training_run_id: str  # the Airflow DAG run of churn_training
    training_runs: set[int]  # every mltrace run of it
    ingest_tries: dict[int, int]  # try number -> run id (the first try fails on purpose)
    predict_run_id: str  # the Airflow DAG run of churn_batch_predict
    scores: dict[int, int]  # map index -> run id of its mapped task "score"


def fill_store(airflow: Airflow) -> Filled:
    """Fill the store as a user would: the example DAGs of ``dags/`` run by Airflow (``airflow dags
    test``), traced by the project's operators and listener into the store the API server shows."""
    for dag_id in ("churn_training", "churn_batch_predict"):
        airflow.run("airflow", "dags", "test", dag_id, timeout=300)
    store = mltrace_core.Store(airflow.store_uri)
    try:
        (merge,) = store.get_history("churn_batch_predict.merge_predictions", 1)
        # The run's own predictions file, and the churn_predictions Asset it published: the Asset.
        published = f"{(airflow.root / 'data').resolve()}/predictions/churn_scores.csv"  # file:///p is /p
        (final_output,) = [o for o in merge.outputs if o == published]
        (train,) = store.get_history("churn_training.train", 1)
        training = store.get_runs_for_dag_run("churn_training", train.external.run_id)
        scores = store.get_runs_for_dag_run("churn_batch_predict", merge.external.run_id, "score")
        return Filled(
            final_output=final_output,
            trace_size=len(store.trace(final_output).nodes),
            train_run=train.id,
            training_run_id=train.external.run_id,
            training_runs={r.id for r in training},
            ingest_tries={r.external.try_number: r.id for r in training if r.external.task_id == "ingest"},
            predict_run_id=merge.external.run_id,
            scores={r.external.map_index: r.id for r in scores},
        )
    finally:
        store.dispose()


@pytest.fixture(scope="session")
def shots(tmp_path_factory) -> Path:
    """Where the browser tests save screenshots (printed by the last test of test_e2e_browser.py)."""
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="session")
def airflow(tmp_path_factory) -> Iterator[tuple[Airflow, Filled]]:
    """A real ``airflow api-server`` with FAB users, its store filled by the example DAGs."""
    af = Airflow(tmp_path_factory.mktemp("e2e"))
    af.set_up()
    filled = fill_store(af)
    server = ApiServer(af)
    try:
        server.wait_ready()
        yield af, filled
    finally:
        server.stop()


@pytest.fixture(scope="session")
def downloads(tmp_path_factory) -> Path:
    """Where the browser saves the files it downloads."""
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="session")
def browser(tmp_path_factory, downloads):
    if not have_chromium():
        reason = "Debian's chromium and chromium-driver are not installed (`make test` installs them as root)"
        if os.environ.get("MLTRACE_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " (MLTRACE_REQUIRE_BROWSER=1)")
        pytest.skip(reason)
    driver = chrome(tmp_path_factory.mktemp("chromium-profile"), downloads)
    try:
        yield driver
    finally:
        driver.quit()
