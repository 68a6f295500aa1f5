"""Fixtures for the web app: the app over a real store (SQLite and PostgreSQL), and clients as users.

Where a test is not about auth, only Airflow's ``get_user`` dependency is replaced (by a real
``SimpleAuthManagerUser``); the permission checks still run through a real ``SimpleAuthManager``.
Anonymous clients replace nothing. Auth with real tokens and the FAB auth manager is covered end to end
in ``test_e2e_browser.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from airflow.api_fastapi import app as airflow_app
from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.api_fastapi.core_api.security import get_user
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mltrace_airflow.web.app import create_app
from mltrace_core import ExternalIdentity

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


@pytest.fixture
def app(store) -> FastAPI:
    """The mltrace app over ``store``."""
    return create_app(lambda: store)


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
