"""End to end: a real ``airflow api-server`` (FAB auth manager, real users) serving the mltrace plugin
from its entry point, a store filled by real pipeline runs, and headless Chromium clicking through it.

The server, its store and the browser are shared with test_e2e_trace_view.py (session fixtures of
tests/web/conftest.py). Screenshots go to a temporary directory (printed at the end). Slow: ``browser``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

import pytest

from mltrace_airflow.web.app import create_app
from tests.support.browser import enter_plugin_frame, frame_path, login, wait
from tests.web.conftest import Filled

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900), pytest.mark.slow]


# -- helpers --------------------------------------------------------------------------------------
def command(driver, line: str) -> None:
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.NAME, "q")
    box.clear()
    box.send_keys(line)
    box.submit()


def http(base: str, method: str, path: str, token: str | None = None, body: dict | None = None) -> int:
    """The status of one request; a POST body goes as JSON to the API, as a form to the pages."""
    headers, data = {}, None
    if body is not None and "/api/" in path:
        headers["Content-Type"], data = "application/json", json.dumps(body).encode()
    elif body is not None:
        headers["Content-Type"], data = "application/x-www-form-urlencoded", urlencode(body).encode()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(base + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code


def every_route(filled: Filled) -> list[tuple[str, str]]:
    samples = {
        "run_id": str(filled.train_run),
        "component": "churn_training.train",
        "tag": "churn_training",
        "filename": "trace.js",
    }
    routes = []
    for route in create_app(lambda: None).routes:
        path = route.path
        for name, value in samples.items():
            path = path.replace(f"{{{name}}}", value).replace(f"{{{name}:path}}", value)
        routes += [(method, "/mltrace" + path) for method in route.methods]
    return sorted(routes)


# -- the tests (in file order: they share one server and one browser) ------------------------------
def test_every_route_checks_real_logins(airflow):
    af, filled = airflow
    tokens = {user: af.token(user) for user in ("admin", "reader", "viewer")}
    for method, path in every_route(filled):
        body = (
            {"output": "not/a/pointer", "action": "flag", "q": "flag not/a/pointer"}
            if method == "POST"
            else None
        )
        assert http(af.base, method, path, None, body) == 401, (method, path)
        assert http(af.base, method, path, tokens["viewer"], body) == 403, (method, path)
        reader = http(af.base, method, path, tokens["reader"], body)
        admin = http(af.base, method, path, tokens["admin"], body)
        if method == "POST":
            assert reader == 403, (method, path)  # read-only: no flagging, no writes
            # allowed; then what was sent is judged: the command box answers on its page (200 + message),
            # flagging an unknown pointer is a 404, the write APIs refuse this body as malformed
            if path.endswith("/command"):
                assert admin == 200, (method, path)
            elif path.endswith(("/flag", "/unflag")):
                assert admin == 404, (method, path, admin)
            else:
                assert admin in (400, 404, 415, 422), (method, path, admin)
        else:
            assert reader == admin and admin in (200, 400, 404, 422), (method, path, reader, admin)
    assert http(af.base, "GET", "/mltrace/api/recent", tokens["reader"]) == 200


def test_anonymous_browser_is_told_to_log_in(airflow, browser, shots):
    from selenium.webdriver.common.by import By

    af, _ = airflow
    browser.delete_all_cookies()
    browser.get(af.base + "/mltrace/")
    assert "Not logged in" in browser.find_element(By.TAG_NAME, "h1").text
    browser.save_screenshot(str(shots / "01-anonymous.png"))


def test_nav_entry_command_box_trace_graph_and_run_page(airflow, browser, shots):
    from selenium.webdriver.common.by import By

    af, filled = airflow
    login(browser, af.base, "admin")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "button[aria-label='Browse']"))[0].click()
    entry = wait(
        browser,
        lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, "[role=menuitem]") if e.text == "mltrace"],
    )
    entry[0].click()
    wait(browser, lambda d: "/plugin/mltrace" in d.current_url)
    enter_plugin_frame(browser, "/mltrace/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "mltrace"
    assert browser.find_elements(By.CSS_SELECTOR, f"a[href='/mltrace/runs/{filled.train_run}']")
    browser.switch_to.default_content()
    browser.save_screenshot(str(shots / "02-home-in-airflow.png"))

    browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
    command(browser, "nonsense words")
    assert (
        "Unknown command 'nonsense'"
        in wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".mltrace-message"))[0].text
    )
    command(browser, f"trace {filled.final_output}")
    wait(browser, lambda d: frame_path(d) == f"/mltrace/trace?output={quote(filled.final_output, safe='')}")
    nodes = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".mltrace-node[data-run-id]"))
    assert (
        len(nodes) == filled.trace_size == browser.execute_script("return window.mltraceGraph.visibleCount")
    )
    assert filled.trace_size >= 5
    browser.execute_script("window.mltraceGraph.fit()")
    browser.switch_to.default_content()
    assert "/plugin/mltrace/mltrace/trace?output=" in browser.current_url  # Airflow keeps the URL in step
    browser.save_screenshot(str(shots / "03-trace-in-airflow.png"))

    browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
    # A click focuses the run (its paths stay, the rest fades); the details bar opens it.
    browser.find_element(By.CSS_SELECTOR, f".mltrace-node[data-run-id='{filled.train_run}']").click()
    assert browser.find_elements(By.CSS_SELECTOR, "svg.mltrace-focusing .mltrace-node.mltrace-selected")
    link = browser.find_element(By.CSS_SELECTOR, ".mltrace-details a.mltrace-open-run")
    assert link.get_dom_attribute("href") == f"/mltrace/runs/{filled.train_run}"
    link.click()
    wait(browser, lambda d: frame_path(d) == f"/mltrace/runs/{filled.train_run}")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith(
        f"churn_training.train #{filled.train_run}"
    )
    browser.switch_to.default_content()
    browser.save_screenshot(str(shots / "04-run-in-airflow.png"))


def test_flag_from_the_command_box_then_review(airflow, browser):
    from selenium.webdriver.common.by import By

    af, filled = airflow
    browser.get(af.base + "/mltrace/")
    command(browser, f"flag {filled.final_output}")
    wait(browser, lambda d: frame_path(d).startswith("/mltrace/review"))
    assert f"Flagged {filled.final_output}" in browser.find_element(By.CSS_SELECTOR, ".mltrace-done").text
    assert browser.find_elements(By.CSS_SELECTOR, f"a[href='/mltrace/runs/{filled.train_run}']")  # a culprit
    command_page = af.base + "/mltrace/"
    browser.get(command_page)
    command(browser, f"unflag {filled.final_output}")
    wait(browser, lambda d: "Unflagged" in d.find_element(By.TAG_NAME, "body").text)


def test_deep_link_into_the_tab(airflow, browser):
    """``/plugin/mltrace/<path>`` opens that mltrace page inside Airflow (what the demo can print)."""
    af, filled = airflow
    path = "/mltrace/trace?output=" + quote(filled.final_output, safe="")
    browser.get(af.base + "/plugin/mltrace" + path)
    enter_plugin_frame(browser, path)
    wait(
        browser,
        lambda d: len(d.find_elements("css selector", ".mltrace-node[data-run-id]")) == filled.trace_size,
    )
    browser.switch_to.default_content()


def test_trace_page_for_the_readme(airflow, browser, shots):
    """The trace page on its own, wide: the screenshot the README shows."""
    from selenium.webdriver.common.by import By

    af, filled = airflow
    browser.get(af.base + "/mltrace/trace?output=" + quote(filled.final_output, safe=""))
    wait(
        browser,
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".mltrace-node[data-run-id]")) == filled.trace_size,
    )
    browser.execute_script("window.mltraceGraph.fit()")
    time.sleep(0.3)
    browser.save_screenshot(str(shots / "trace.png"))


def test_task_instance_tab_and_the_airflow_log(airflow, browser, shots):
    """ingest failed on its first try and succeeded on the second: the tab opens the second, lists
    both, and its log link opens that try's log in the Airflow window."""
    from selenium.webdriver.common.by import By

    af, filled = airflow
    browser.get(f"{af.base}/dags/churn_training/runs/{quote(filled.training_run_id, safe='')}/tasks/ingest")
    tab = wait(
        browser, lambda d: [a for a in d.find_elements(By.CSS_SELECTOR, "a[href$='/plugin/mltrace_ti']")]
    )
    tab[0].click()
    enter_plugin_frame(browser, "/mltrace/ti?dag_id=churn_training")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith(
        f"churn_training.ingest #{filled.ingest_tries[2]}"
    )
    listed = {a.get_dom_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a[data-run-id]")}
    assert {f"/mltrace/runs/{run}" for run in filled.ingest_tries.values()} <= listed
    browser.switch_to.default_content()
    browser.save_screenshot(str(shots / "05-task-instance-tab.png"))

    browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
    browser.find_element(By.CSS_SELECTOR, "a.mltrace-log-link").click()
    browser.switch_to.default_content()
    wait(browser, lambda d: d.current_url.endswith("/tasks/ingest?try_number=2"))  # the Airflow window moved
    wait(browser, lambda d: not d.find_elements(By.TAG_NAME, "iframe"))  # the tab (and its frame) is gone
    wait(browser, lambda d: "Logs" in d.find_element(By.TAG_NAME, "body").text)
    browser.save_screenshot(str(shots / "06-airflow-log.png"))


def test_mapped_task_instance_tab(airflow, browser):
    from selenium.webdriver.common.by import By

    af, filled = airflow
    run = quote(filled.predict_run_id, safe="")
    browser.get(f"{af.base}/dags/churn_batch_predict/runs/{run}/tasks/score/mapped/1/plugin/mltrace_ti")
    enter_plugin_frame(browser, "map_index=1")
    h1 = browser.find_element(By.TAG_NAME, "h1").text
    assert h1.startswith(f"churn_batch_predict.score #{filled.scores[1]}")


def test_dag_run_tab(airflow, browser, shots):
    from selenium.webdriver.common.by import By

    af, filled = airflow
    browser.get(
        f"{af.base}/dags/churn_training/runs/{quote(filled.training_run_id, safe='')}/plugin/mltrace_dagrun"
    )
    enter_plugin_frame(browser, "/mltrace/dagrun?dag_id=churn_training")
    shown = {
        int(a.get_dom_attribute("data-run-id"))
        for a in browser.find_elements(By.CSS_SELECTOR, "a[data-run-id]")
    }
    assert shown == filled.training_runs and len(shown) >= 7
    browser.switch_to.default_content()
    browser.save_screenshot(str(shots / "07-dag-run-tab.png"))


def log_two_trainings(store) -> dict[str, int]:
    """ingest -> train, twice; the second ingest read a new raw file: two versions of the model."""
    from mltrace_core import RunRecord
    from tests.support.timeline import at

    ids = {}
    for n, raw in ((1, "r1"), (2, "r2")):
        t = 10 * n
        ids[f"ingest{n}"] = store.log(
            RunRecord(
                key=f"e2e-versions-ingest-{n}",
                component="e2e_versions.ingest",
                start=at(t),
                end=at(t + 1),
                inputs=(("s3://e2e-versions/raw.csv", raw, None),),
                outputs=(("e2e-versions/raw.parquet", f"h-{raw}", None),),
            )
        )
        ids[f"train{n}"] = store.log(
            RunRecord(
                key=f"e2e-versions-train-{n}",
                component="e2e_versions.train",
                start=at(t + 2),
                end=at(t + 3),
                inputs=(("e2e-versions/raw.parquet", f"h-{raw}", None),),
                outputs=(("e2e-versions/model.json", f"m{n}", None),),
            )
        )
    return ids


def test_pick_a_version_then_diff_it_with_another(airflow, browser, shots):
    """On the model's trace page, pick its older version (the trace follows), diff it with the other
    one, and see the diff graph: the changed runs coloured, the ingest outlined as the first divergence."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    import mltrace_core

    af, _ = airflow
    store = mltrace_core.Store(af.store_uri)
    try:
        ids = log_two_trainings(store)
    finally:
        store.dispose()
    login(browser, af.base, "admin")
    browser.get(af.base + "/mltrace/trace?output=" + quote("e2e-versions/model.json", safe=""))
    Select(browser.find_element(By.ID, "mltrace-version")).select_by_value(f"run:{ids['train1']}")
    browser.find_element(By.CSS_SELECTOR, ".mltrace-version-picker button").click()
    traced = "return JSON.parse(document.getElementById('trace-data').textContent).nodes[0].id"
    wait(browser, lambda d: "/mltrace/trace?" in d.current_url and d.execute_script(traced) == ids["train1"])
    assert "m1" in browser.find_element(By.CSS_SELECTOR, ".mltrace-traced-version").text
    diff_with = Select(browser.find_element(By.ID, "mltrace-diff-with"))
    assert diff_with.first_selected_option.get_attribute("value") == f"run:{ids['train2']}"
    browser.find_element(By.CSS_SELECTOR, ".mltrace-diff-with button").click()
    # B is the version picked: the merged graph shows B's runs, A's only where A has runs of its own.
    changed = wait(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#diff-graph .mltrace-node.mltrace-diff-changed")
    )
    assert {e.get_attribute("data-run-id") for e in changed} == {str(ids["ingest1"]), str(ids["train1"])}
    (first,) = browser.find_elements(By.CSS_SELECTOR, "#diff-graph .mltrace-node.mltrace-diff-first")
    assert first.get_attribute("data-run-id") == str(ids["ingest1"])
    assert "first divergence" in first.text
    stroke = browser.execute_script(
        "return getComputedStyle(arguments[0].querySelector('.mltrace-node-box')).stroke", changed[0]
    )
    assert stroke == "rgb(183, 121, 31)"  # the changed colour, not the status colour
    assert "input s3://e2e-versions/raw.csv r2 r1" in browser.find_element(By.TAG_NAME, "main").text
    browser.execute_script("window.mltraceGraph.fit()")
    time.sleep(0.3)
    browser.save_screenshot(str(shots / "09-diff.png"))


def test_read_only_user_sees_the_tab_but_may_not_flag(airflow, browser):
    from selenium.webdriver.common.by import By

    af, filled = airflow
    login(browser, af.base, "reader")
    browser.get(af.base + "/mltrace/")
    command(browser, f"flag {filled.final_output}")
    assert (
        "permission to edit assets"
        in wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".mltrace-message"))[0].text
    )


def test_user_without_plugin_access_sees_no_entry_and_gets_403(airflow, browser, shots):
    from selenium.webdriver.common.by import By

    af, _ = airflow
    login(browser, af.base, "viewer")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "button[aria-label='Browse']"))[0].click()
    items = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[role=menuitem]"))
    assert "mltrace" not in [i.text for i in items]
    browser.get(af.base + "/mltrace/")
    assert "Not allowed" in browser.find_element(By.TAG_NAME, "h1").text
    browser.save_screenshot(str(shots / "08-viewer-403.png"))
    print(f"\nscreenshots: {shots}")
