"""Nothing without auth: every route of the app (found by walking the app, so new routes are covered)
refuses anonymous users (401), users without the plugin view permission (403), and read-only users
on writes (403). Airflow's real security dependencies and a real SimpleAuthManager decide; only the
user is supplied. The same checks with real logins and the FAB auth manager: test_e2e_browser.py.

The routes programs write to (OpenLineage ingestion, the HTTP write API) take a bearer credential only
-- the ingestion key or an editor's token -- and are checked in test_ingest.py; here, that anonymous
callers get 401 there too and that no other route is left without its dependency."""

from __future__ import annotations

import json

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from mltrace_airflow.web.app import create_app
from tests.web.conftest import ROOT, client_as, mounted

SAMPLE_PATH_PARAMS = {"run_id": "1", "component": "ingest", "tag": "data", "filename": "trace.js"}
WRITES = {f"{ROOT}/api/flag", f"{ROOT}/api/unflag", f"{ROOT}/flag", f"{ROOT}/command"}


def every_route() -> list[tuple[str, str]]:
    app = create_app(lambda: None)
    routes = []
    for route in app.routes:
        assert isinstance(route, APIRoute), (
            f"{route} is not an APIRoute, so it skips the app's auth dependency"
        )
        path = route.path
        for name, value in SAMPLE_PATH_PARAMS.items():
            path = path.replace(f"{{{name}}}", value).replace(f"{{{name}:path}}", value)
        assert "{" not in path, f"no sample value for a parameter of {route.path}"
        for method in route.methods:
            routes.append((method, ROOT + path))
    assert len(routes) >= 28
    return sorted(routes)


ALL_ROUTES = every_route()
# Written to by programs with a bearer credential (auth.require_writer): no user, no cookie.
WRITER_ROUTES = [
    (m, u)
    for m, u in ALL_ROUTES
    if u
    in (
        f"{ROOT}/api/v1/lineage",
        f"{ROOT}/api/v1/lineage/batch",
        f"{ROOT}/api/runs",
        f"{ROOT}/api/components",
    )
    and m == "POST"
]
ROUTES = [r for r in ALL_ROUTES if r not in WRITER_ROUTES]


def test_every_route_has_its_auth_dependency():
    from mltrace_airflow.web import auth

    for route in create_app(lambda: None).routes:
        calls = {d.call for d in route.dependant.dependencies}
        writer = any((m, ROOT + route.path) in WRITER_ROUTES for m in route.methods)
        assert (auth.require_writer in calls) if writer else (auth.can_view.dependency in calls), route.path
    assert len(WRITER_ROUTES) == 4


@pytest.mark.parametrize(("method", "url"), WRITER_ROUTES)
def test_anonymous_writers_get_401(anonymous, method, url):
    r = anonymous.post(url, json={})
    assert r.status_code == 401 and "ingestion key" in r.json()["detail"]


def _no_store():
    raise AssertionError("the store was reached before auth refused the request")


@pytest.fixture(scope="module")
def guarded_app():
    return create_app(_no_store)


@pytest.fixture
def guarded(guarded_app):
    """The app over a store that must never be reached: auth refuses first (one app for the module; a
    test's user override ends with the test)."""
    yield guarded_app
    guarded_app.dependency_overrides.clear()


@pytest.fixture
def anonymous(guarded):
    with TestClient(mounted(guarded)) as c:
        yield c


def call(client, method: str, url: str):
    if method == "POST":
        body = {"output": "x"} if "/api/" in url else None
        return (
            client.post(url, json=body) if body else client.post(url, data={"q": "flag x", "csrf_token": ""})
        )
    return client.request(method, url)


@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_anonymous_gets_401(anonymous, method, url):
    r = call(anonymous, method, url)
    assert r.status_code == 401, r.text
    if "/api/" in url:
        assert r.json() == {"detail": "Not authenticated"}
    elif "/static/" not in url:
        assert "Log in to Airflow" in r.text


@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_an_invalid_session_cookie_gets_403(anonymous, auth_manager, method, url):
    anonymous.cookies.set("_token", "not-a-jwt")
    assert call(anonymous, method, url).status_code == 403


@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_user_without_plugin_access_gets_403(guarded, auth_manager, method, url):
    with client_as(guarded, None) as c:
        r = call(c, method, url)
    assert r.status_code == 403, r.text


@pytest.mark.parametrize(("method", "url"), [r for r in ROUTES if r[0] == "GET"])
def test_viewer_may_read(app, auth_manager, lineage, method, url):
    with client_as(app, "viewer") as c:
        r = call(c, method, url)
    assert r.status_code in (200, 400, 404, 422), r.text  # answered (parameters aside), not refused


def test_viewer_may_not_flag_or_unflag(app, auth_manager, lineage, store):
    with client_as(app, "viewer") as c:
        for path in ("/api/flag", "/api/unflag"):
            r = c.post(
                ROOT + path,
                content=json.dumps({"output": "clean.csv"}),
                headers={"Content-Type": "application/json"},
            )
            assert r.status_code == 403 and "permission to edit assets" in r.json()["detail"]
        token = c.get(f"{ROOT}/").text.split('name="csrf_token" value="')[1].split('"')[0]
        r = c.post(f"{ROOT}/flag", data={"output": "clean.csv", "action": "flag", "csrf_token": token})
        assert r.status_code == 403
        r = c.post(f"{ROOT}/command", data={"q": "flag clean.csv", "csrf_token": token})
        assert r.status_code == 403 and "permission to edit assets" in r.text and "Recent runs" in r.text
        r = c.post(
            f"{ROOT}/command", data={"q": "trace clean.csv", "csrf_token": token}, follow_redirects=False
        )
        assert r.status_code == 303  # reading is fine
    assert store.review_flagged_outputs().flagged == ()


def test_viewer_pages_offer_no_flag_buttons_op_pages_do(app, auth_manager, lineage):
    with client_as(app, "viewer") as c:
        assert 'name="action"' not in c.get(f"{ROOT}/trace", params={"output": "clean.csv"}).text
    with client_as(app, "op") as c:
        assert 'name="action" value="flag"' in c.get(f"{ROOT}/trace", params={"output": "clean.csv"}).text


def test_op_may_flag(app, auth_manager, lineage, store):
    with client_as(app, "op") as c:
        r = c.post(f"{ROOT}/api/flag", json={"output": "clean.csv"})
    assert r.status_code == 200 and store.review_flagged_outputs().flagged == ("clean.csv",)
