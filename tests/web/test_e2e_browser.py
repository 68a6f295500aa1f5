"""End to end: a real ``airflow api-server`` (FAB auth manager, real users) serving the mltrace plugin
from its entry point, a store filled by real pipeline runs, and headless Chromium clicking through it.

Screenshots go to the test's temporary directory (printed at the end). Slow: marked ``browser``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

import mltrace_core
from mltrace_airflow.web.app import create_app
from tests.support.airflow_server import Airflow, ApiServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900), pytest.mark.slow]

CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update "
    "--disable-sync --no-first-run --window-size=1600,1000"
).split()


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
        (final_output,) = [o for o in merge.outputs if o.startswith("file://")]
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


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def airflow(tmp_path_factory) -> Iterator[tuple[Airflow, Filled]]:
    af = Airflow(tmp_path_factory.mktemp("e2e"))
    af.set_up()
    filled = fill_store(af)
    server = ApiServer(af)
    try:
        server.wait_ready()
        yield af, filled
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        reason = "Debian's chromium and chromium-driver are not installed (`make test` installs them as root)"
        if os.environ.get("MLTRACE_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " (MLTRACE_REQUIRE_BROWSER=1)")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="mltrace-chromium-", dir=tmp_path_factory.getbasetemp())
    options.add_argument(f"--user-data-dir={profile}")
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    driver = webdriver.Chrome(
        service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options
    )
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


# -- helpers --------------------------------------------------------------------------------------
def wait(driver, condition, timeout: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def login(driver, base: str, user: str) -> None:
    from selenium.webdriver.common.by import By

    from tests.support.airflow_server import PASSWORDS

    driver.delete_all_cookies()
    driver.get(base + "/auth/login/")
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(PASSWORDS[user])
    driver.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
    wait(driver, lambda d: "/auth/login" not in d.current_url)


def enter_plugin_frame(driver, src_part: str):
    """Switch into the iframe Airflow shows the plugin page in, once it has loaded ``src_part``."""
    from selenium.webdriver.common.by import By

    driver.switch_to.default_content()
    frame = wait(driver, lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, "iframe")), None))
    assert src_part in frame.get_attribute("src"), frame.get_attribute("src")
    driver.switch_to.frame(frame)
    wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, "body.mltrace-page h1, body.mltrace-page .mltrace-muted"),
    )
    return frame


def frame_path(driver) -> str:
    return driver.execute_script("return location.pathname + location.search")


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
            assert reader == 403, (method, path)  # read-only: no flagging
            # allowed; then the pointer is judged (the command box answers on its page: 200 + message)
            assert admin == (200 if path.endswith("/command") else 404), (method, path)
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
    nodes = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "a.mltrace-node"))
    assert (
        len(nodes) == filled.trace_size == browser.execute_script("return window.mltraceGraph.visibleCount")
    )
    assert filled.trace_size >= 5
    browser.execute_script("window.mltraceGraph.fit()")
    browser.switch_to.default_content()
    assert "/plugin/mltrace/mltrace/trace?output=" in browser.current_url  # Airflow keeps the URL in step
    browser.save_screenshot(str(shots / "03-trace-in-airflow.png"))

    browser.switch_to.frame(browser.find_element(By.TAG_NAME, "iframe"))
    node = browser.find_element(By.CSS_SELECTOR, f"a.mltrace-node[data-run-id='{filled.train_run}']")
    assert node.get_dom_attribute("href") == f"/mltrace/runs/{filled.train_run}"
    node.click()
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
    wait(browser, lambda d: len(d.find_elements("css selector", "a.mltrace-node")) == filled.trace_size)
    browser.switch_to.default_content()


def test_trace_page_for_the_readme(airflow, browser, shots):
    """The trace page on its own, wide: the screenshot the README shows."""
    from selenium.webdriver.common.by import By

    af, filled = airflow
    browser.get(af.base + "/mltrace/trace?output=" + quote(filled.final_output, safe=""))
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "a.mltrace-node")) == filled.trace_size)
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
