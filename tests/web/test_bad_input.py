"""Bad input through the pages, the command box and the JSON API (property-based, on a real SQLite
store): never a 5xx, never user data unescaped in a page, nothing written by a refused flag, and every
valid name round-trips through the URLs the pages print."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import mltrace_core
from mltrace_airflow.web.app import create_app
from mltrace_airflow.web.links import Links
from mltrace_core.naming import canonical
from tests.support.names import valid_names
from tests.support.pages import Page
from tests.web.conftest import ROOT, client_as

PAYLOADS = st.sampled_from(
    [
        '<script>alert("x")</script>',
        '"><img src=x onerror=alert(1)>',
        "javascript:alert(1)",
        "../../etc/passwd",
        "'; DROP TABLE component_runs; --",
        "a\x00b",
        "x" * 10_000,
        "",
        " ",
        "%2e%2e%2f",
        "🙂 ü\u202e",
        "-1",
        "99999999999999999999999999",
        "{MAP_INDEX}",
    ]
)
TEXT = st.one_of(PAYLOADS, st.text(max_size=300))
MARKUP = re.compile(r"<[A-Za-z/!?]")  # would start a tag if shown raw
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def sqlite_client(tmp_path, auth_manager):
    store = mltrace_core.Store(f"sqlite:///{tmp_path / 'store.db'}")
    run = mltrace_core.ComponentRun("seed")
    run.set_start_timestamp()
    run.add_output("seed.csv")
    run.set_end_timestamp()
    store.log(run)
    with client_as(create_app(lambda: store), "admin") as c:
        yield c, store
    store.dispose()


def check(response, value: str) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.headers.get("content-type", "").startswith("text/html") and MARKUP.search(value):
        assert value not in response.text, "user data shown unescaped"


@SETTINGS
@given(value=TEXT)
def test_read_routes_answer_every_value(sqlite_client, value):
    client, _ = sqlite_client
    q = quote(value, safe="")
    for url in (
        f"{ROOT}/trace?output={q}",
        f"{ROOT}/downstream?pointer={q}",
        f"{ROOT}/history/{q}?limit={q}",
        f"{ROOT}/history?component={q}",
        f"{ROOT}/runs/{q}",
        f"{ROOT}/tags/{q}",
        f"{ROOT}/components?tag={q}&owner={q}",
        f"{ROOT}/ti?dag_id={q}&run_id={q}&task_id={q}&map_index={q}&try_number={q}",
        f"{ROOT}/dagrun?dag_id={q}&run_id={q}",
        f"{ROOT}/?limit={q}",
        f"{ROOT}/api/trace?output={q}&depth={q}",
        f"{ROOT}/api/runs/{q}",
        f"{ROOT}/api/recent?limit={q}",
        f"{ROOT}/api/task-runs?dag_id={q}&run_id={q}&task_id={q}&map_index={q}",
        f"{ROOT}/static/{q}",
    ):
        check(client.get(url), value)


@SETTINGS
@given(
    line=st.one_of(
        PAYLOADS,
        st.text(max_size=300),
        TEXT.map(lambda v: f"trace {v}"),
        TEXT.map(lambda v: f"history {v} 3"),
    )
)
def test_command_box_answers_every_line(sqlite_client, line):
    client, store = sqlite_client
    token = Page(client.get(f"{ROOT}/").text).field("csrf_token")
    r = client.post(f"{ROOT}/command", data={"q": line, "csrf_token": token}, follow_redirects=False)
    assert r.status_code in (200, 303), (r.status_code, r.text[:300])
    check(r, line)
    if r.status_code == 303:
        check(client.get(r.headers["location"]), line)


@SETTINGS
@given(body=st.one_of(st.binary(max_size=200), TEXT.map(lambda v: json.dumps({"output": v}).encode())))
def test_flag_api_refuses_bad_bodies_and_writes_nothing(sqlite_client, body):
    client, store = sqlite_client
    r = client.post(f"{ROOT}/api/flag", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 404), (r.status_code, r.text[:300])
    assert isinstance(r.json()["detail"], str)
    assert store.review_flagged_outputs().flagged == ()


NAMES = valid_names(60)


@SETTINGS
@example(pointer="p.csv", component=".")
@example(pointer="q.csv", component="..")
@example(pointer="A://", component="0")  # CI's find: a scheme is lower-cased, the name is "a://"
@example(pointer="/data/./x/../y.csv", component="c")
@given(pointer=NAMES, component=NAMES)
def test_every_valid_name_round_trips_through_links(sqlite_client, pointer, component):
    """A name is stored, linked and shown in its canonical form (naming.canonical: schemes lower-cased,
    paths resolved), and a link to it under either spelling leads to it."""
    client, store = sqlite_client
    name = canonical(pointer)
    assume(name != "seed.csv")
    run = mltrace_core.ComponentRun(component)
    run.set_start_timestamp()
    run.add_output(pointer)
    run.set_end_timestamp()
    store.log(run)
    links = Links(ROOT)
    trace = client.get(links.trace(pointer))
    assert trace.status_code == 200
    assert Page(trace.text).trace()["output"] == name
    assert Page(client.get(links.trace(name)).text).trace()["output"] == name
    history = client.get(links.history(component))
    assert history.status_code == 200, (component, history.text[:200])
    # A path segment cannot carry "." or ".." (clients resolve them away): those use the query form.
    api = (
        f"{ROOT}/api/history?component={quote(component, safe='')}"
        if component in (".", "..")
        else f"{ROOT}/api/history/{quote(component, safe='')}"
    )
    assert client.get(api).json()[0]["component"] == component
