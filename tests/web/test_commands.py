"""The command box: parsing (no store), then every command through the app against a real store."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from mltrace_airflow.web.commands import Command, CommandError, parse
from tests.support.pages import Page
from tests.web.conftest import COMPONENT, ODD, ROOT, S3, TAG


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("recent", Command("recent")),
        ("  RECENT  5 ", Command("recent", limit=5)),
        ("history train", Command("history", "train", 10)),
        ("history train 3", Command("history", "train", 3)),
        ("history raw data step 25", Command("history", "raw data step", 25)),
        ('history "model 2"', Command("history", "model 2", 10)),
        ('history "model 2" 4', Command("history", "model 2", 4)),
        ("history 42", Command("history", "42", 10)),  # a lone number is the name
        ("inspect 12", Command("inspect", "12")),
        ("inspect #12", Command("inspect", "12")),
        (f"trace {S3}", Command("trace", S3)),
        ("trace 'quoted name'", Command("trace", "quoted name")),
        (f"tag {TAG}", Command("tag", TAG)),
        (f"flag {ODD}", Command("flag", ODD)),
        ("unflag x y", Command("unflag", "x y")),
        ("review", Command("review")),
    ],
)
def test_parse(line, expected):
    assert parse(line) == expected


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("", "Type a command"),
        ("help", "Commands: recent"),
        ("frobnicate x", "Unknown command 'frobnicate'"),
        ("inspect abc", "inspect needs a run id"),
        ("inspect 0", "inspect needs a run id"),
        ("inspect", "inspect needs an argument"),
        ("trace", "Usage: trace OUTPUT_ID"),
        ("trace ''", "needs a non-empty name"),
        ("history", "Usage: history COMPONENT_NAME [N]"),
        ("history x 0", "N of at least 1"),
        ("recent many", "recent takes a number"),
        ("review now", "review takes no argument"),
        ("trace " + "x" * 5000, "the limit is 4096"),
    ],
)
def test_parse_errors_say_what_would_work(line, hint):
    with pytest.raises(CommandError) as err:
        parse(line)
    assert hint in str(err.value)


def run(client, line: str, follow: bool = False):
    token = Page(client.get(f"{ROOT}/").text).field("csrf_token")
    return client.post(f"{ROOT}/command", data={"q": line, "csrf_token": token}, follow_redirects=follow)


@pytest.mark.parametrize(
    ("line", "target"),
    [
        ("recent", f"{ROOT}/"),
        ("recent 3", f"{ROOT}/?limit=3"),
        ("history churn.train", f"{ROOT}/history/churn.train"),
        ("history churn.train 1", f"{ROOT}/history/churn.train?limit=1"),
        (f"history {COMPONENT}", f"{ROOT}/history/{quote(COMPONENT, safe='')}"),
        ("inspect 1", f"{ROOT}/runs/1"),
        (f"trace {S3}", f"{ROOT}/trace?output={quote(S3, safe='')}"),
        (f"trace {ODD}", f"{ROOT}/trace?output={quote(ODD, safe='')}"),
        (f"tag {TAG}", f"{ROOT}/tags/{quote(TAG, safe='')}"),
        ("review", f"{ROOT}/review"),
    ],
)
def test_read_commands_redirect_to_their_page(client, lineage, line, target):
    r = run(client, line)
    assert r.status_code == 303 and r.headers["location"] == target
    assert client.get(target).status_code == 200


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("frobnicate", "Unknown command"),
        ("inspect 99999", "No run with id 99999"),
        ("inspect 99999999999999999999", "Run id must be between 1 and"),
        ("trace no/such/file.csv", "No pointer named 'no/such/file.csv'"),
        ("history nobody", "No component named 'nobody'"),
        ("flag no/such/file.csv", "No pointer named"),
        ("trace bad\tname", "control characters"),
    ],
)
def test_bad_commands_show_a_message_on_the_home_page(client, lineage, line, message):
    r = run(client, line)
    assert r.status_code == 200
    page = Page(r.text)
    assert message in page.plain
    assert page.field("q") == line  # kept, to fix it
    assert "Recent runs" in page.plain  # still the home page, not an error page


def test_flag_and_unflag_from_the_command_box(client, lineage, store):
    r = run(client, f"flag {S3}", follow=True)
    assert r.status_code == 200 and r.url.path == f"{ROOT}/review"
    assert f"Flagged {S3}" in Page(r.text).plain
    assert store.review_flagged_outputs().flagged == (S3,)
    r = run(client, f"unflag {S3}", follow=True)
    assert f"Unflagged {S3}" in Page(r.text).plain
    assert store.review_flagged_outputs().flagged == ()


def test_flag_needs_the_page_token_and_the_same_site(client, lineage, store):
    r = client.post(f"{ROOT}/command", data={"q": f"flag {S3}"})
    assert r.status_code == 403 and "reload the page" in Page(r.text).plain
    r = client.post(f"{ROOT}/command", data={"q": f"flag {S3}", "csrf_token": "0" * 64})
    assert r.status_code == 403
    token = Page(client.get(f"{ROOT}/").text).field("csrf_token")
    r = client.post(
        f"{ROOT}/command",
        data={"q": f"flag {S3}", "csrf_token": token},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert r.status_code == 403 and "Cross-site" in Page(r.text).plain
    assert store.review_flagged_outputs().flagged == ()  # nothing written


def test_read_commands_need_no_token(client, lineage):
    r = client.post(f"{ROOT}/command", data={"q": "inspect 1"}, follow_redirects=False)
    assert r.status_code == 303


def test_flag_buttons_on_the_trace_page(client, lineage, store):
    page = Page(client.get(f"{ROOT}/trace", params={"output": ODD}).text)
    assert "Flag output" in page.plain and "Unflag" not in page.plain  # one button: the one that applies
    store.flag_output_id(ODD)
    flagged_page = Page(client.get(f"{ROOT}/trace", params={"output": ODD}).text)
    assert "Unflag" in flagged_page.plain and "Flag output" not in flagged_page.plain
    store.unflag_output_id(ODD)
    form = {"csrf_token": page.field("csrf_token"), "output": page.field("output"), "action": "flag"}
    assert form["output"] == ODD
    r = client.post(f"{ROOT}/flag", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{ROOT}/review?flagged={quote(ODD, safe='')}"
    assert store.review_flagged_outputs().flagged == (ODD,)
    r = client.post(f"{ROOT}/flag", data={**form, "action": "unflag"}, follow_redirects=False)
    assert r.status_code == 303 and store.review_flagged_outputs().flagged == ()
    r = client.post(f"{ROOT}/flag", data={**form, "action": "explode"})
    assert r.status_code == 400 and "action=flag or unflag" in Page(r.text).plain
    r = client.post(f"{ROOT}/flag", data={**form, "csrf_token": "nope"})
    assert r.status_code == 403 and store.review_flagged_outputs().flagged == ()


def test_a_file_upload_instead_of_a_field_is_refused_cleanly(client, lineage, store):
    files = {"csrf_token": ("t.txt", b"x"), "output": ("o.txt", S3.encode())}
    r = client.post(f"{ROOT}/flag", data={"action": "flag"}, files=files)
    assert r.status_code == 403 and store.review_flagged_outputs().flagged == ()
    r = client.post(f"{ROOT}/command", files={"q": ("q.txt", b"flag x")})
    assert r.status_code == 200 and "Type a command" in Page(r.text).plain
