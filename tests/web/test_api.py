"""The JSON API against a real store: the same records as ``mltrace --json`` prints, errors as answers."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from mltrace_core.cli import cli
from tests.web.conftest import COMPONENT, EVIL, ODD, ROOT, S3, TAG

API = f"{ROOT}/api"


def cli_json(store_uri: str, *args: str):
    result = CliRunner().invoke(cli, ["--db-uri", store_uri, "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize(
    ("path", "cli_args"),
    [
        ("/recent", ("recent",)),
        ("/recent?limit=2", ("recent", "--limit", "2")),
        ("/history/churn.train", ("history", "churn.train")),
        (f"/history/{quote(COMPONENT, safe='')}?limit=1", ("history", COMPONENT, "1")),
        (f"/history?component={quote(COMPONENT, safe='')}", ("history", COMPONENT)),
        ("/runs/4", ("inspect", "4")),
        (f"/trace?output={quote(ODD, safe='')}", ("trace", ODD)),
        (f"/trace?output={quote(ODD, safe='')}&depth=1", ("trace", ODD, "--depth", "1")),
        (f"/downstream?pointer={quote(S3, safe='')}", ("downstream", S3)),
        (f"/tags/{quote(TAG, safe='')}", ("tag", TAG)),
        ("/tags", ("tags",)),
        ("/components", ("components",)),
        ("/components?tag=data", ("components", "--tag", "data")),
        ("/review", ("review",)),
        (f"/versions?name={quote(EVIL, safe='')}", ("versions", EVIL)),
        (f"/trace?output={quote(EVIL + '@v1', safe='')}", ("trace", EVIL + "@v1")),
        ("/trace?output=run:4", ("trace", "run:4")),
        (
            f"/trace?output={quote(ODD, safe='')}&as_of=2026-01-01T00:07:00Z",
            ("trace", ODD, "--as-of", "2026-01-01T00:07:00Z"),
        ),
        (f"/diff?a=run:2&b={quote(ODD, safe='')}", ("diff", "run:2", ODD)),
        (
            f"/diff?a={quote(ODD, safe='')}&b={quote(ODD, safe='')}&as_of_a=2026-01-01T00:07:00Z",
            ("diff", ODD, ODD, "--as-of-a", "2026-01-01T00:07:00Z"),
        ),
    ],
)
def test_reads_return_what_the_cli_prints(client, lineage, store, store_uri, path, cli_args):
    store.flag_output_id(ODD)
    r = client.get(API + path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json() == cli_json(store_uri, *cli_args)


def test_names_come_back_unchanged(client, lineage):
    run = client.get(f"{API}/runs/{lineage['ingest']}").json()
    assert run["component"] == COMPONENT and set(run["outputs"]) == {S3, EVIL}
    assert run["output_versions"] == {S3: None, EVIL: "v1"}
    assert "ü" in client.get(f"{API}/runs/{lineage['ingest']}").text  # UTF-8, not \u escapes


def test_task_runs(client, lineage):
    base = {"dag_id": "churn", "run_id": "manual__2026-01-01T00:00:00+00:00"}
    ids = lambda **q: [r["id"] for r in client.get(f"{API}/task-runs", params={**base, **q}).json()]  # noqa: E731
    assert ids() == [lineage[k] for k in ("train_try1", "train", "score")]
    assert ids(task_id="train") == [lineage["train"], lineage["train_try1"]]  # latest try first
    assert ids(task_id="train", try_number="1") == [lineage["train_try1"]]
    assert ids(task_id="train", map_index="-1") == [lineage["train"], lineage["train_try1"]]
    assert ids(task_id="score", map_index="3") == [lineage["score"]]
    assert ids(task_id="score", map_index="2") == []


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        ("/runs/99999", 404, "no run with id 99999"),
        ("/runs/abc", 400, "run id must be a positive integer"),
        ("/runs/-1", 400, "run id must be a positive integer"),
        ("/runs/99999999999999999999999", 400, "run id must be between 1 and"),
        ("/trace?output=nope", 404, "no pointer named 'nope'"),
        ("/trace", 422, "output: Field required"),
        ("/trace?output=x&depth=abc", 400, "depth must be an integer"),
        ("/trace?output=%00", 400, "control characters"),
        ("/history/nobody", 404, "no component named 'nobody'"),
        ("/history/churn.train?limit=0", 400, "limit must be between 1 and 10000"),
        ("/history/churn.train?limit=10001", 400, "limit must be between 1 and 10000"),
        ("/recent?limit=" + "9" * 40, 400, "limit must be between 1 and 10000"),
        ("/downstream?pointer=nope", 404, "no pointer named"),
        ("/task-runs?dag_id=x", 400, "run_id is required"),
        ("/task-runs?dag_id=x&run_id=y&task_id=t&try_number=no", 400, "try_number must be an integer"),
        ("/tags/" + "x" * 1100, 400, "the limit is 1024 bytes"),
        ("/no/such/route", 404, "Not Found"),
        ("/trace?output=clean.csv&as_of=soon", 400, "as_of must be an ISO-8601 time"),
        ("/trace?output=clean.csv&as_of=2000-01-01", 404, "nothing had written 'clean.csv'"),
        ("/trace?output=run:1&as_of=1d", 400, "as_of applies to a pointer name"),
        ("/trace?output=clean.csv@v9", 404, "no version 'v9' of 'clean.csv'"),
        ("/trace?output=run:999", 404, "no run with id 999"),
        ("/versions?name=nope", 404, "no pointer named 'nope'"),
        ("/versions", 422, "name: Field required"),
        ("/diff?a=clean.csv", 422, "b: Field required"),
        ("/diff?a=clean.csv&b=nope", 404, "no pointer named 'nope'"),
    ],
)
def test_errors_are_answers(client, lineage, path, status, detail):
    r = client.get(API + path)
    assert r.status_code == status, r.text
    assert detail in r.json()["detail"]


def post(client, path: str, body, content_type: str = "application/json"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(API + path, content=data, headers={"Content-Type": content_type})


def test_flag_and_unflag(client, lineage, store):
    r = post(client, "/flag", {"output": S3, "reason": "truncated upload"})
    assert r.status_code == 200 and r.json()["output"] == S3 and r.json()["flagged"] is True
    flag = r.json()["flag"]
    assert (flag["pointer"], flag["version"], flag["reason"], flag["by"]) == (
        S3,
        None,
        "truncated upload",
        "u-admin",
    )
    assert client.get(f"{API}/review").json()["flagged"] == [S3]
    assert client.get(f"{API}/flags", params={"pointer": S3}).json() == [flag]
    r = post(client, "/unflag", {"output": S3})
    assert r.json() == {"output": S3, "flagged": False, "ended": 1}
    assert store.review_flagged_outputs().flagged == ()
    (ended,) = client.get(f"{API}/flags").json()  # kept, ended
    assert (
        ended["unflagged_at"] is not None and client.get(f"{API}/flags", params={"active": "1"}).json() == []
    )
    assert post(client, "/flag", {"output": S3, "reason": 5}).status_code == 400


def test_impact(client, lineage, store):
    r = client.get(f"{API}/impact", params={"address": S3, "limit": "2"})
    assert r.status_code == 200
    data = r.json()
    assert list(data) == ["address", "runs", "airflow", "next"] and data["address"] == S3
    assert data == store.impact(S3, 2).to_dict()
    assert data["airflow"] == [
        {"dag_id": "churn", "run_id": "manual__2026-01-01T00:00:00+00:00", "task_ids": ["score", "train"]}
    ]
    rest = client.get(
        f"{API}/impact", params={"address": S3, "limit": "2", "after": str(data["next"])}
    ).json()
    ids = [r["id"] for r in data["runs"] + rest["runs"]]
    assert ids == sorted(ids) and lineage["score"] in ids and lineage["ingest"] not in ids
    for params, status in (({"address": "no/such"}, 404), ({"address": S3, "limit": "0"}, 400), ({}, 422)):
        assert client.get(f"{API}/impact", params=params).status_code == status


@pytest.mark.parametrize(
    ("body", "content_type", "status", "detail"),
    [
        ("{not json", "application/json", 400, "the body is not valid JSON"),
        (b"\xff\xfe", "application/json", 400, "the body is not valid JSON"),
        ({"name": "x"}, "application/json", 400, '{"output": "<pointer name>"}'),
        (["x"], "application/json", 400, '{"output": "<pointer name>"}'),
        ({"output": 5}, "application/json", 400, '{"output": "<pointer name>"}'),
        ({"output": "no/such"}, "application/json", 404, "no pointer named"),
        ({"output": ""}, "application/json", 400, "must not be empty"),
        ({"output": "a\x00b"}, "application/json", 400, "control characters"),
        ("output=x", "application/x-www-form-urlencoded", 415, "application/json"),
        ({"output": S3}, "text/plain", 415, "application/json"),
    ],
)
def test_bad_flag_requests_are_refused_and_write_nothing(
    client, lineage, store, body, content_type, status, detail
):
    r = post(client, "/flag", body, content_type)
    assert r.status_code == status, r.text
    assert detail in r.json()["detail"]
    assert store.review_flagged_outputs().flagged == ()


def test_cross_site_json_writes_are_refused(client, lineage, store):
    r = client.post(f"{API}/flag", json={"output": S3}, headers={"Sec-Fetch-Site": "same-site"})
    assert r.status_code == 403 and store.review_flagged_outputs().flagged == ()


def test_store_down_is_a_503_without_credentials(auth_manager):
    from mltrace_airflow.web.app import create_app
    from mltrace_core import Store
    from tests.web.conftest import client_as

    down = Store("postgresql://mltrace:s3cret-pw@127.0.0.1:1/nowhere", timeout=2)
    c = client_as(create_app(lambda: down), "admin")
    for path in (f"{API}/recent", f"{ROOT}/"):
        r = c.get(path)
        assert r.status_code == 503, r.text
        assert "s3cret-pw" not in r.text and "unavailable" in r.text


def test_a_broken_store_provider_is_a_503(auth_manager):
    from mltrace_airflow.web.app import create_app
    from tests.web.conftest import client_as

    def broken():
        raise ValueError(
            "connection 'mltrace_default' has type 'http'; mltrace needs postgres, sqlite or mltrace"
        )

    r = client_as(create_app(broken), "admin").get(f"{API}/recent")
    assert r.status_code == 503 and "has type 'http'" in r.json()["detail"]


def test_a_failing_connection_lookup_is_a_503_that_reveals_nothing(auth_manager):
    from mltrace_airflow.web.app import create_app
    from tests.web.conftest import client_as

    def failing():
        raise RuntimeError("could not connect to postgresql://airflow:hunter2@metadata-db/airflow")

    r = client_as(create_app(failing), "admin").get(f"{API}/recent")
    assert r.status_code == 503 and "RuntimeError" in r.json()["detail"] and "hunter2" not in r.text


def test_an_ambiguous_address_is_a_400_naming_each_match(client, log):
    one = log("w", [], [("a@b", "c")], 0)
    two = log("w", [], [("a", "b@c")], 0)
    r = client.get(f"{API}/trace", params={"output": "a@b@c"})
    assert r.status_code == 400
    assert f"run:{one}" in r.json()["detail"] and f"run:{two}" in r.json()["detail"]
