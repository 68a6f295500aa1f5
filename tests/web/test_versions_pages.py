"""Versions in the tab, against a real store: the version picker and "diff with..." on the trace page, the
versions page, the diff page, the run page's output links and its comparison with the previous run, the
history page's marks and the command box's diff / versions."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.support.pages import Page, get_page
from tests.web.conftest import EVIL, ROOT


def page(client, url, status=200) -> Page:
    return get_page(client, url, status, unescaped=(EVIL,))


@pytest.fixture
def trainings(log) -> dict:
    """Two pipeline runs: the second read a new version of the raw file. The model name has markup."""
    ids = {"config": log("config", [], ["params.yaml"], -10)}
    for n, (t, raw) in enumerate(((0, "r1"), (10, "r2")), start=1):
        ids[f"ingest{n}"] = log("ingest", [("raw.csv", raw)], [("raw.parquet", f"h-{raw}")], t)
        ids[f"train{n}"] = log(
            "train", [("raw.parquet", f"h-{raw}"), "params.yaml"], [(EVIL, f"m{n}")], t + 2
        )
    return ids


def query(href: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


def test_trace_page_picks_a_version_and_follows_it(client, trainings):
    latest = page(client, f"{ROOT}/trace?output={quote(EVIL, safe='')}")
    assert latest.trace()["nodes"][0]["id"] == trainings["train2"]
    assert latest.options("output") == [f"run:{trainings['train2']}", f"run:{trainings['train1']}"]
    assert latest.selected("output") == f"run:{trainings['train2']}"
    assert latest.field("pointer") == EVIL
    # Picking the older version: the form's GET, as the browser sends it.
    older = page(
        client, f"{ROOT}/trace?" + f"pointer={quote(EVIL, safe='')}&output=run%3A{trainings['train1']}"
    )
    assert [n["id"] for n in older.trace()["nodes"]][:2] == [trainings["train1"], trainings["ingest1"]]
    assert older.selected("output") == f"run:{trainings['train1']}"
    assert "m1" in older.plain and f"What run #{trainings['train1']} wrote" in older.plain


def test_trace_page_offers_a_diff_with_the_previous_version(client, trainings):
    latest = page(client, f"{ROOT}/trace?output={quote(EVIL, safe='')}")
    assert latest.field("b") == f"run:{trainings['train2']}"
    assert latest.selected("a") == f"run:{trainings['train1']}"  # the previous version by default
    assert f"run:{trainings['train2']}" not in latest.options("a")


def test_trace_page_by_version_and_as_of(client, trainings):
    by_version = page(client, f"{ROOT}/trace?output={quote(EVIL + '@m1', safe='')}")
    assert by_version.trace()["nodes"][0]["id"] == trainings["train1"]
    assert "Version m1" in by_version.plain and f"written by run #{trainings['train1']}" in by_version.plain
    as_of = page(client, f"{ROOT}/trace?output={quote(EVIL, safe='')}&as_of=2026-01-01T00:05:00Z")
    assert as_of.trace()["nodes"][0]["id"] == trainings["train1"]
    assert "As of 2026-01-01 00:05:00 UTC" in as_of.plain
    page(client, f"{ROOT}/trace?output={quote(EVIL, safe='')}&as_of=2020-01-01", 404)
    page(client, f"{ROOT}/trace?output={quote(EVIL, safe='')}&as_of=soon", 400)


def test_run_page_output_links_trace_that_runs_version(client, trainings):
    run_page = page(client, f"{ROOT}/runs/{trainings['train1']}")
    links = [h for h in run_page.hrefs if h.startswith(f"{ROOT}/trace?") and query(h).get("pointer") == EVIL]
    assert links and all(query(h)["output"] == f"run:{trainings['train1']}" for h in links)
    traced = page(client, links[0])
    assert traced.trace()["nodes"][0]["id"] == trainings["train1"]  # not the newer train2
    assert traced.selected("output") == f"run:{trainings['train1']}"


def test_run_page_compares_with_the_previous_run_of_its_component(client, trainings):
    run_page = page(client, f"{ROOT}/runs/{trainings['train2']}")
    compare = [h for h in run_page.hrefs if h.startswith(f"{ROOT}/diff?")]
    assert [query(h) for h in compare] == [
        {"a": f"run:{trainings['train1']}", "b": f"run:{trainings['train2']}"}
    ]
    assert "Compare with the previous run of this component" in run_page.plain
    first = page(client, f"{ROOT}/runs/{trainings['train1']}")
    assert not [h for h in first.hrefs if h.startswith(f"{ROOT}/diff?")]  # nothing before the first run


def test_diff_page_shows_what_differs_and_where_it_starts(client, trainings):
    url = f"{ROOT}/diff?a=run%3A{trainings['train1']}&b={quote(EVIL, safe='')}"
    diff = page(client, url)
    assert "~ 2 changed" in diff.plain and "− 0 only in A" in diff.plain
    assert "first divergence" in diff.plain
    assert "input raw.csv r1 r2" in diff.plain  # the ingest read a new version of the raw file
    graph = diff.data("diff-data")
    assert graph["diff"]["marks"] == {
        str(trainings["ingest2"]): "changed",
        str(trainings["train2"]): "changed",
    }
    assert graph["diff"]["first"] == [trainings["ingest2"]]
    assert graph["diff"]["partners"] == {
        str(trainings["ingest2"]): trainings["ingest1"],
        str(trainings["train2"]): trainings["train1"],
    }
    assert {n["id"] for n in graph["nodes"]} == {trainings[k] for k in ("train2", "ingest2", "config")}
    same = page(client, f"{ROOT}/diff?a={quote(EVIL, safe='')}&b={quote(EVIL, safe='')}")
    assert "No differences" in same.plain
    page(client, f"{ROOT}/diff?a=nope&b={quote(EVIL, safe='')}", 404)


def test_versions_page_lists_every_write_with_trace_and_diff_links(client, trainings):
    versions = page(client, f"{ROOT}/versions?name={quote(EVIL, safe='')}")
    traces = [query(h) for h in versions.hrefs if h.startswith(f"{ROOT}/trace?") and "pointer" in query(h)]
    assert [q["output"] for q in traces] == [f"run:{trainings['train2']}", f"run:{trainings['train1']}"]
    diffs = [query(h) for h in versions.hrefs if h.startswith(f"{ROOT}/diff?")]
    assert diffs == [{"a": f"run:{trainings['train1']}", "b": f"run:{trainings['train2']}"}]
    assert "m2 latest" in versions.plain
    page(client, f"{ROOT}/versions?name=nope", 404)


def test_versions_api_pages_with_limit_and_start(client, trainings):
    url = f"{ROOT}/api/versions?name={quote(EVIL, safe='')}"
    every = client.get(url).json()
    assert [(r["run"], r["version"]) for r in every] == [
        (trainings["train2"], "m2"),
        (trainings["train1"], "m1"),
    ]
    assert client.get(f"{url}&limit=1").json() == every[:1]
    assert client.get(f"{url}&limit=1&start={trainings['train1']}").json() == every[1:]
    assert client.get(f"{url}&start={trainings['ingest1']}").status_code == 404  # it did not write it


def test_history_marks_runs_whose_input_versions_changed(client, trainings, log):
    log("train", [("raw.parquet", "h-r2"), "params.yaml"], [(EVIL, "m3")], 20)  # same inputs as before
    history = page(client, f"{ROOT}/history/train")
    marks = [h for h in history.hrefs if h.startswith(f"{ROOT}/diff?")]
    assert [query(h) for h in marks] == [
        {"a": f"run:{trainings['train1']}", "b": f"run:{trainings['train2']}"}
    ]
    assert history.plain.count("inputs changed") == 2  # the mark, and the legend above the table
    one = page(client, f"{ROOT}/history/train?limit=2")  # the oldest shown is compared with the one before
    assert len([h for h in one.hrefs if h.startswith(f"{ROOT}/diff?")]) == 1


def run_command(client, line: str):
    token = Page(client.get(f"{ROOT}/").text).field("csrf_token")
    return client.post(f"{ROOT}/command", data={"q": line, "csrf_token": token}, follow_redirects=False)


@pytest.mark.parametrize(
    ("line", "target"),
    [
        (f"versions {EVIL}", f"{ROOT}/versions?name={quote(EVIL, safe='')}"),
        (f"diff run:2 {EVIL}", f"{ROOT}/diff?a=run%3A2&b={quote(EVIL, safe='')}"),
        (
            f'diff "{EVIL}@m1" {EVIL}',
            f"{ROOT}/diff?a={quote(EVIL + '@m1', safe='')}&b={quote(EVIL, safe='')}",
        ),
        (f"trace {EVIL}@m1", f"{ROOT}/trace?output={quote(EVIL + '@m1', safe='')}"),
        (
            f"trace {EVIL} --as-of 2026-01-01T00:05:00Z",
            f"{ROOT}/trace?output={quote(EVIL, safe='')}&as_of=2026-01-01T00%3A05%3A00Z",
        ),
    ],
)
def test_command_box_diff_versions_and_any_version(client, trainings, line, target):
    r = run_command(client, line)
    assert r.status_code == 303 and r.headers["location"] == target
    page(client, target)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("diff raw.csv", "diff needs two outputs"),
        ("diff nope raw.parquet", "No pointer named 'nope'"),
        ("versions nope", "No pointer named 'nope'"),
        ("trace raw.parquet@h-r9", "No version 'h-r9' of 'raw.parquet'"),
        ("trace raw.parquet --as-of someday", "As_of must be an ISO-8601 time"),
    ],
)
def test_bad_diff_and_versions_commands_say_why(client, trainings, line, message):
    r = run_command(client, line)
    assert r.status_code == 200 and message in Page(r.text).plain


def test_an_old_version_traced_still_proposes_the_version_before_it(client, log):
    from mltrace_airflow.web.versioned import PICKER_ROWS

    ids = [log("train", [], [("model", f"m{i}")], 10 * i) for i in range(PICKER_ROWS + 3)]
    old = page(client, f"{ROOT}/trace?output=model%40m1")  # older than the newest PICKER_ROWS
    assert old.trace()["nodes"][0]["id"] == ids[1]
    assert old.selected("output") == f"run:{ids[1]}"
    assert old.selected("a") == f"run:{ids[0]}"  # "diff with..." proposes the version before it
    assert old.options("output")[:2] == [f"run:{ids[-1]}", f"run:{ids[-2]}"]
