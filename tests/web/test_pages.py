"""Every HTML page against a real store (SQLite and PostgreSQL), mounted at /mltrace as on the API server."""

from __future__ import annotations

from collections import deque
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from mltrace_core import ExternalIdentity, RunRecord, TestResult
from tests.support import pages
from tests.support.pages import Page
from tests.support.timeline import at
from tests.web.conftest import COMPONENT, EVIL, ODD, ROOT, S3, TAG

AIRFLOW_RUN = "manual__2026-01-01T00:00:00+00:00"


def get_page(client, url: str, status: int = 200) -> Page:
    return pages.get_page(client, url, status, unescaped=(EVIL,))


def test_home_lists_recent_runs_newest_first_with_encoded_links(client, lineage):
    page = get_page(client, f"{ROOT}/")
    runs = [h for h in page.hrefs if h.startswith(f"{ROOT}/runs/")]
    assert runs[:5] == [
        f"{ROOT}/runs/{lineage[k]}" for k in ("score", "train", "train_try1", "clean", "ingest")
    ]
    assert f"{ROOT}/trace?output={quote(S3, safe='')}" in page.hrefs
    assert f"{ROOT}/trace?output={quote(EVIL, safe='')}" in page.hrefs
    assert f"{ROOT}/history/{quote(COMPONENT, safe='')}" in page.hrefs
    assert EVIL in page.plain  # shown, as text
    assert page.field("csrf_token")


def test_every_link_from_home_resolves(client, lineage):
    """Crawl every mltrace link reachable from the home page: each one answers 200, so every name
    (slashes, spaces, unicode, %, #, ?, markup) survives the round trip through a URL."""
    seen, queue, airflow_links = set(), deque([f"{ROOT}/"]), set()
    while queue:
        url = queue.popleft()
        page = get_page(client, url)
        for a in page.anchors:
            href = a["href"]
            if "data-airflow-link" in a:
                airflow_links.add(href)
                continue
            assert href.startswith(f"{ROOT}/"), href
            if href not in seen:
                seen.add(href)
                queue.append(href)
    assert len(seen) >= 20
    assert {f"{ROOT}/trace?output={quote(n, safe='')}" for n in (S3, EVIL, ODD)} <= seen
    assert f"{ROOT}/tags/{quote(TAG, safe='')}" in seen
    task = f"/dags/churn/runs/{quote(AIRFLOW_RUN, safe='')}/tasks/train"
    assert f"{task}?try_number=2" in airflow_links and f"{task}?try_number=1" in airflow_links


def test_run_page_shows_everything_inspect_shows(client, lineage, store):
    page = get_page(client, f"{ROOT}/runs/{lineage['train']}")
    detail = store.get_component_run_information(lineage["train"])
    for name in detail.inputs:
        assert f"{ROOT}/trace?output={quote(name, safe='')}" in page.hrefs
    for name in detail.outputs:  # the version this run wrote, not the latest
        assert f"{ROOT}/trace?output=run%3A{detail.id}&pointer={quote(name, safe='')}" in page.hrefs
    assert [f"{ROOT}/runs/{i}" for i in detail.dependencies] == [
        h for h in page.hrefs if h.startswith(f"{ROOT}/runs/")
    ][: len(detail.dependencies)]
    assert f"{ROOT}/runs/{lineage['score']}" in page.hrefs  # downstream
    for other in store.get_runs(detail.dependencies + detail.downstream):  # named, not just numbered
        assert f"#{other.id} {other.component} {other.status}" in page.plain
    assert "v1" in get_page(client, f"{ROOT}/runs/{lineage['ingest']}").plain  # the version it wrote
    task = f"/dags/churn/runs/{quote(AIRFLOW_RUN, safe='')}/tasks/train"
    assert task in page.hrefs and f"{task}?try_number=2" in page.hrefs
    assert "try 2" in page.plain
    assert page.plain.count("Pointer Version Type Lineage") == 2  # every column named, the links' too


def test_run_page_of_failed_run_shows_error_and_notes_escaped(client, lineage):
    r = client.get(f"{ROOT}/runs/{lineage['train_try1']}")
    assert "ValueError: &lt;boom&gt;" in r.text and "<boom>" not in r.text
    r = client.get(f"{ROOT}/runs/{lineage['clean']}")
    assert "dropped 3 rows &lt;b&gt;bold&lt;/b&gt;" in r.text


def test_mapped_run_links_to_its_map_index(client, lineage):
    page = get_page(client, f"{ROOT}/runs/{lineage['score']}")
    assert f"/dags/churn/runs/{quote(AIRFLOW_RUN, safe='')}/tasks/score/mapped/3?try_number=1" in page.hrefs


@pytest.mark.parametrize(
    ("run_id", "status", "message"),
    [
        ("999999", 404, "no run with id 999999"),
        ("abc", 400, "run id must be a positive integer"),
        ("0", 400, ""),
    ],
)
def test_run_page_errors_are_pages_with_a_message(client, lineage, run_id, status, message):
    page = get_page(client, f"{ROOT}/runs/{run_id}", status)
    assert message in page.plain and "Traceback" not in page.plain


def test_trace_page_embeds_the_trace_and_loads_the_graph(client, lineage, store):
    r = client.get(f"{ROOT}/trace", params={"output": ODD})
    page = get_page(client, r.url.path + "?" + r.url.query.decode())
    ids = [n.run.id for n in store.trace(ODD).nodes]
    assert page.trace() == {**store.trace(ODD).to_dict(), "marks": store.lineage_marks(ids).to_dict()}
    assert "<script>alert" not in page.scripts["trace-data"]
    assert f"{ROOT}/downstream?pointer={quote(ODD, safe='')}" in page.hrefs
    scripts = [s for s in r.text.split('src="')[1:]]
    order = [s.split('"')[0].split("?")[0] for s in scripts]
    assert order == [
        f"{ROOT}/static/theme.js",
        f"{ROOT}/static/formats.js",
        f"{ROOT}/static/vendor/dagre.min.js",
        f"{ROOT}/static/lineage.js",
        f"{ROOT}/static/trace-draw.js",
        f"{ROOT}/static/trace.js",
        f"{ROOT}/static/trace-marks.js",
        f"{ROOT}/static/trace-export.js",
        f"{ROOT}/static/tree.js",
        f"{ROOT}/static/page.js",
    ]


def test_downstream_page_embeds_its_graph(client, lineage, store):
    page = get_page(client, f"{ROOT}/downstream?pointer={quote(S3, safe='')}")
    assert page.trace() == store.downstream(S3).to_dict()
    assert "<script>alert" not in page.scripts["trace-data"]


def test_trace_depth_and_unknown_pointer(client, lineage):
    page = get_page(client, f"{ROOT}/trace?output={quote(ODD, safe='')}&depth=0")
    assert [n["component"] for n in page.trace()["nodes"]] == ["churn.train"]
    assert "no pointer named" in get_page(client, f"{ROOT}/trace?output=nope", 404).plain
    assert "depth" in get_page(client, f"{ROOT}/trace?output=x&depth=-1", 400).plain
    assert "output" in get_page(client, f"{ROOT}/trace", 422).plain


def test_history_page_by_path_and_limit(client, lineage):
    page = get_page(client, f"{ROOT}/history/churn.train")
    runs = [h for h in page.hrefs if h.startswith(f"{ROOT}/runs/")]
    assert runs == [f"{ROOT}/runs/{lineage['train']}", f"{ROOT}/runs/{lineage['train_try1']}"]
    page = get_page(client, f"{ROOT}/history/churn.train?limit=1")
    assert [h for h in page.hrefs if h.startswith(f"{ROOT}/runs/")] == [f"{ROOT}/runs/{lineage['train']}"]
    page = get_page(client, f"{ROOT}/history/{quote(COMPONENT, safe='')}")
    assert f"{ROOT}/runs/{lineage['ingest']}" in page.hrefs and TAG in page.plain
    assert "limit must be" in get_page(client, f"{ROOT}/history/churn.train?limit=abc", 400).plain
    assert "no component named" in get_page(client, f"{ROOT}/history/nope", 404).plain


def test_history_of_dot_names_goes_through_the_query(client, log):
    log("..", [], ["x"], 0, 1)
    page = get_page(client, f"{ROOT}/runs/1")
    assert f"{ROOT}/history?component=.." in page.hrefs
    assert "History of .." in get_page(client, f"{ROOT}/history?component=..").plain


def test_tag_pages(client, lineage):
    page = get_page(client, f"{ROOT}/tags/{quote(TAG, safe='')}")
    assert f"{ROOT}/history/{quote(COMPONENT, safe='')}" in page.hrefs
    assert f"{ROOT}/runs/{lineage['ingest']}" in page.hrefs  # its latest run
    page = get_page(client, f"{ROOT}/tags/data")
    assert {f"{ROOT}/history/{quote(c, safe='')}" for c in (COMPONENT, "clean")} <= set(page.hrefs)
    assert "No component has the tag" in get_page(client, f"{ROOT}/tags/none-such").plain
    page = get_page(client, f"{ROOT}/tags")
    assert f"{ROOT}/tags/{quote(TAG, safe='')}" in page.hrefs and f"{ROOT}/tags/data" in page.hrefs


def test_components_page(client, lineage):
    page = get_page(client, f"{ROOT}/components")
    for name in (COMPONENT, "clean", "churn.train", "churn.score"):
        assert f"{ROOT}/history/{quote(name, safe='')}" in page.hrefs


def test_downstream_page(client, lineage):
    page = get_page(client, f"{ROOT}/downstream?pointer={quote(S3, safe='')}")
    runs = {h for h in page.hrefs if h.startswith(f"{ROOT}/runs/")}
    assert runs == {f"{ROOT}/runs/{lineage[k]}" for k in ("clean", "train_try1", "train", "score")}


def test_review_page_after_flagging(client, lineage, store):
    assert "Nothing is flagged" in get_page(client, f"{ROOT}/review").plain
    store.flag_output_id(ODD)
    page = get_page(client, f"{ROOT}/review")
    assert f"{ROOT}/trace?output={quote(ODD, safe='')}" in page.hrefs
    culprits = [h for h in page.hrefs if h.startswith(f"{ROOT}/runs/")]
    assert f"{ROOT}/runs/{lineage['train']}" in culprits and f"{ROOT}/runs/{lineage['ingest']}" in culprits


def test_task_instance_tab_opens_the_latest_try(client, lineage):
    q = {"dag_id": "churn", "run_id": AIRFLOW_RUN, "task_id": "train", "map_index": "{MAP_INDEX}"}
    r = client.get(f"{ROOT}/ti", params=q)
    assert r.status_code == 200
    page = Page(r.text)
    assert f"churn.train #{lineage['train']}" in page.plain  # the try-2 run, in detail
    assert f"{ROOT}/runs/{lineage['train_try1']}" in page.hrefs  # listed among the tries
    one = Page(client.get(f"{ROOT}/ti", params={**q, "try_number": "1"}).text)
    assert f"churn.train #{lineage['train_try1']}" in one.plain and "ValueError" in one.plain


def test_task_instance_tab_for_a_mapped_task(client, lineage):
    q = {"dag_id": "churn", "run_id": AIRFLOW_RUN, "task_id": "score"}
    assert (
        f"churn.score #{lineage['score']}"
        in Page(client.get(f"{ROOT}/ti", params={**q, "map_index": "3"}).text).plain
    )
    other = Page(client.get(f"{ROOT}/ti", params={**q, "map_index": "0"}).text)
    assert "mltrace has no run for this task instance" in other.plain


def test_task_instance_tab_needs_its_identity(client, lineage):
    assert "task_id is required" in get_page(client, f"{ROOT}/ti?dag_id=churn&run_id=x", 400).plain
    assert (
        "map_index must be an integer"
        in get_page(client, f"{ROOT}/ti?dag_id=churn&run_id=x&task_id=t&map_index=zz", 400).plain
    )


def test_dag_run_tab_lists_its_runs(client, lineage):
    r = client.get(f"{ROOT}/dagrun", params={"dag_id": "churn", "run_id": AIRFLOW_RUN})
    page = Page(r.text)
    runs = [h for h in page.hrefs if h.startswith(f"{ROOT}/runs/")]
    assert runs == [f"{ROOT}/runs/{lineage[k]}" for k in ("train_try1", "train", "score")]
    empty = Page(client.get(f"{ROOT}/dagrun", params={"dag_id": "churn", "run_id": "other"}).text)
    assert "mltrace has no run for this DAG run" in empty.plain


def test_static_files_are_served_and_confined(client):
    for name in ("trace.js", "trace-draw.js", "lineage.js", "trace-export.js", "tree.js", "theme.js", "page.js", "mltrace.css",
                 "vendor/dagre.min.js"):  # fmt: skip
        r = client.get(f"{ROOT}/static/{name}")
        assert r.status_code == 200 and len(r.content) > 1000, name
    assert client.get(f"{ROOT}/static/mltrace.css").headers["content-type"].startswith("text/css")
    for bad in ("..%2Fapp.py", "vendor/..%2F..%2Fapp.py", "vendor/dagre.LICENSE", "nope.js"):
        assert client.get(f"{ROOT}/static/{bad}").status_code == 404, bad


def test_unknown_page_is_a_404_page(client):
    page = get_page(client, f"{ROOT}/no/such/page", 404)
    assert "Not found" in page.plain


def test_every_answer_carries_its_server_time(client, lineage):
    timing = client.get(f"{ROOT}/").headers["server-timing"]
    assert timing.startswith("app;dur=") and float(timing.split("=")[1]) >= 0


def test_redirect_targets_keep_names_intact(client, lineage):
    r = client.post(f"{ROOT}/command", data={"q": f"trace {S3}"}, follow_redirects=False)
    assert r.status_code == 303
    assert parse_qs(urlsplit(r.headers["location"]).query) == {"output": [S3]}


def test_review_page_shows_the_likeliest_culprits_first(client, log, store):
    for i in range(60):
        log("step", [f"p{i}"], [f"p{i + 1}"], 2 * i, 2 * i + 1)
    store.flag_output_id("p60")
    page = get_page(client, f"{ROOT}/review")
    culprits = [h for h in page.hrefs if h.startswith(f"{ROOT}/runs/")]
    assert len(culprits) == 50 and "The 50 most common runs; GET api/review lists them all" in page.plain


def test_run_page_shows_tests_git_tags_code_and_pointer_types(client, store):
    # What mltrace 0.17 kept with a run (issue 10), shown as inspect shows it, escaped.
    rid = store.log(
        RunRecord(
            key="k",
            component="c",
            start=at(0),
            end=at(1),
            outputs=(("m.pkl", None, "MODEL"),),
            git_hash="abc123def",
            git_tags=("v1.2",),
            code_snapshot="def f(): <return>",
            tests=(TestResult("after", "Schema.testCols", False, "no <id>"),),
        )
    )
    page = client.get(f"{ROOT}/runs/{rid}").text
    for shown in (
        "abc123def",
        "v1.2",
        "Schema.testCols",
        "no &lt;id&gt;",
        "def f(): &lt;return&gt;",
        "MODEL",
    ):
        assert shown in page
    assert "<id>" not in page


def test_run_page_shows_the_openlineage_run_id_and_links_to_the_catalogue(client, log, store, monkeypatch):
    run_id = "0192f8a0-3c1e-7d4b-9a6e-1f2e3d4c5b6a"
    ext = ExternalIdentity("churn", AIRFLOW_RUN, "train", 1, -1, None, run_id, "prod ü", None)
    rid = log("churn.train", ["raw.csv"], ["model.pkl"], 0, external=ext)
    plain = log("plain", [], ["x.csv"], 2)
    page = get_page(client, f"{ROOT}/runs/{rid}")
    assert run_id in page.plain and not [h for h in page.hrefs if run_id in h]  # no catalogue set: no link
    monkeypatch.setenv(
        "AIRFLOW__MLTRACE__OPENLINEAGE_UI_URL",
        "http://marquez:3000/lineage/job/{namespace}/{job}?run={run_id}",
    )
    page = get_page(client, f"{ROOT}/runs/{rid}")
    assert f"http://marquez:3000/lineage/job/prod%20%C3%BC/churn.train?run={run_id}" in page.hrefs
    # A plain run has the id derived from its key, and its job is its component.
    derived = store.get_component_run_information(plain).external.openlineage_run_id
    assert (
        f"http://marquez:3000/lineage/job/default/plain?run={derived}"
        in get_page(client, f"{ROOT}/runs/{plain}").hrefs
    )
    monkeypatch.setenv("AIRFLOW__MLTRACE__OPENLINEAGE_UI_URL", "javascript:alert(1)//{run_id}")
    assert not [h for h in get_page(client, f"{ROOT}/runs/{rid}").hrefs if "alert" in h]
