"""Big lineages in the trace page, end to end: generated lineages of 901 and 10,001 runs in the store of
the real API server (the one test_e2e_browser.py uses), headless Chromium clicking and typing.

Component view by default with the right counts, expand and collapse in place, focus, search, the
critical path of a lineage built with a known slowest chain, keyboard moves, every export file read back,
and Airflow's dark theme. Times are printed, never asserted (bench/trace_view_bench.py measures them).
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import pytest

import mltrace_core
from mltrace_core import formats
from tests.support.browser import enter_plugin_frame, login, wait
from tests.support.exports import dot_labels, mermaid_problems, png_size
from tests.support.lineages import Layered, layered

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900), pytest.mark.slow]


@pytest.fixture(scope="module")
def lineages(airflow) -> dict[str, Layered]:
    """901 runs (30 layers of 30) and 10,001 runs (50 layers of 200), logged into the server's store."""
    af, _ = airflow
    store = mltrace_core.Store(af.store_uri, timeout=600)
    try:
        return {"mid": layered(store, 30, 30, prefix="mid"), "big": layered(store, 50, 200, prefix="big")}
    finally:
        store.dispose()


@pytest.fixture(scope="module", autouse=True)
def admin(airflow, browser) -> None:
    """Every test here browses as an admin (whatever the test before this module logged in as)."""
    af, _ = airflow
    login(browser, af.base, "admin")


def open_trace(browser, base: str, output: str) -> None:
    browser.get(base + "/mltrace/trace?output=" + quote(output, safe=""))
    wait(browser, lambda d: d.execute_script("return !!(window.mltraceGraph && window.mltraceGraph.readyAt)"))


def graph(browser, expression: str):
    return browser.execute_script(f"const g = window.mltraceGraph; return {expression};")


def node(browser, css: str):
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, css)


def shown(browser, css: str):
    """A graph node, centred in the viewport first (as a user would pan to it)."""
    el = node(browser, css)
    browser.execute_script("window.mltraceGraph.centre(arguments[0].getAttribute('data-key'))", el)
    return el


def text(el) -> str:
    return el.get_attribute("textContent")


def classes(el) -> set[str]:
    return set((el.get_attribute("class") or "").split())


def visible_in_viewport(browser, el) -> bool:
    return browser.execute_script(
        "const r = arguments[0].getBoundingClientRect(), v = document.querySelector('.mltrace-viewport')"
        ".getBoundingClientRect(); return r.left >= v.left && r.right <= v.right && r.top >= v.top && "
        "r.bottom <= v.bottom;",
        el,
    )


def downloaded(folder: Path, name: str, timeout: float = 20) -> bytes:
    path = folder / name
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size and not (folder / (name + ".crdownload")).exists():
            return path.read_bytes()
        time.sleep(0.1)
    raise AssertionError(f"{name} was not downloaded: {sorted(p.name for p in folder.iterdir())}")


def test_901_runs_open_by_component_and_expand_in_place(airflow, browser, lineages):
    from selenium.webdriver.common.by import By

    af, _ = airflow
    mid = lineages["mid"]
    open_trace(browser, af.base, mid.output)
    assert graph(browser, "g.mode") == "component"
    comps = browser.find_elements(By.CSS_SELECTOR, ".mltrace-node.mltrace-component")
    assert len(comps) == 31 and not browser.find_elements(By.CSS_SELECTOR, ".mltrace-node[data-run-id]")
    counts = {c.get_attribute("data-component"): int(c.get_attribute("data-count")) for c in comps}
    assert counts == {**{mid.component(k): 30 for k in range(30)}, "mid.report": 1}
    layer1 = node(browser, f".mltrace-component[data-component='{mid.component(1)}']")
    assert "29 success · 1 failed" in text(layer1) and "✕" in text(layer1)  # status in text and glyph
    assert "failed" in layer1.get_attribute("class")
    assert node(browser, ".mltrace-count").text == "901 runs in 31 components"

    # Expand layer 5 from its details bar: its 30 runs appear where the component was.
    layer5 = shown(browser, f".mltrace-component[data-component='{mid.component(5)}']")
    before = layer5.rect
    layer5.click()
    node(browser, ".mltrace-details .mltrace-expand").click()
    runs = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".mltrace-node[data-run-id]"))
    assert {int(r.get_attribute("data-run-id")) for r in runs} == {mid.ids[(5, i)] for i in range(30)}
    assert len(browser.find_elements(By.CSS_SELECTOR, ".mltrace-node.mltrace-component")) == 30
    centre = graph(browser, "(() => { const xs = [...document.querySelectorAll('.mltrace-node[data-run-id]')]"
                   ".map(e => e.getBoundingClientRect()); return xs.reduce((a, r) => a + r.left + r.width / 2, 0)"
                   " / xs.length; })()")  # fmt: skip
    assert abs(centre - (before["x"] + before["width"] / 2)) < 5

    # Focus one run: its paths stay (the layers around it), its siblings fade.
    chosen = shown(browser, f".mltrace-node[data-run-id='{mid.ids[(5, 7)]}']")
    chosen.click()
    assert "mltrace-focusing" in classes(node(browser, "svg.mltrace-svg"))
    assert "mltrace-selected" in classes(chosen)
    sibling = node(browser, f".mltrace-node[data-run-id='{mid.ids[(5, 20)]}']")
    assert "mltrace-on-path" not in classes(sibling)
    assert float(sibling.value_of_css_property("opacity")) < 0.5
    for k in (4, 6, 29):
        assert "mltrace-on-path" in classes(
            node(browser, f".mltrace-component[data-component='{mid.component(k)}']")
        )
    details = node(browser, ".mltrace-details").text
    assert f"{mid.component(5)} #{mid.ids[(5, 7)]}" in details

    # Collapse from the details bar: one node again.
    node(browser, ".mltrace-details .mltrace-collapse").click()
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".mltrace-node.mltrace-component")) == 31)
    assert not browser.find_elements(By.CSS_SELECTOR, ".mltrace-node[data-run-id]")


def test_search_critical_path_and_keyboard(airflow, browser, lineages):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    af, _ = airflow
    mid = lineages["mid"]
    open_trace(browser, af.base, mid.output)
    # Search a run by id: its component expands, the run is selected and centred.
    box = node(browser, ".mltrace-search")
    box.send_keys(f"#{mid.ids[(20, 3)]}", Keys.ENTER)
    found = wait(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, f".mltrace-node[data-run-id='{mid.ids[(20, 3)]}']"),
    )
    assert "mltrace-selected" in classes(found[0]) and visible_in_viewport(browser, found[0])
    assert node(browser, ".mltrace-found").text.startswith("1 of 1")
    # A pointer: the run that wrote it is selected, the edges carrying it marked.
    box.clear()
    box.send_keys("mid/12/4.csv", Keys.ENTER)
    wait(
        browser,
        lambda d: d.find_elements(
            By.CSS_SELECTOR, f".mltrace-node.mltrace-selected[data-run-id='{mid.ids[(12, 4)]}']"
        ),
    )
    assert browser.find_elements(By.CSS_SELECTOR, ".mltrace-edge.mltrace-match")

    # The critical path: the slow run of every layer, then the report; 5 h 01 min from first start to end.
    open_trace(browser, af.base, mid.output)
    graph(browser, f"g.expand({mid.component(3)!r})")
    node(browser, "button[aria-pressed][title^='Mark the chain']").click()
    note = node(browser, ".mltrace-critical-note").text
    assert note.startswith("Critical path: 31 runs") and formats.duration(301 * 60) in note
    marked = browser.find_elements(By.CSS_SELECTOR, ".mltrace-node.mltrace-critical[data-run-id]")
    assert [int(m.get_attribute("data-run-id")) for m in marked] == [mid.critical[3]]
    assert len(browser.find_elements(By.CSS_SELECTOR, ".mltrace-component.mltrace-critical")) == 30
    assert graph(browser, "g.criticalPath().runs") == list(mid.critical)

    # Keyboard: the graph is one tab stop; arrows move along edges, Enter expands, Space focuses.
    start = shown(browser, f".mltrace-component[data-component='{mid.component(10)}']")
    browser.execute_script("arguments[0].focus()", start)
    start.send_keys(Keys.ARROW_LEFT)
    active = browser.switch_to.active_element
    assert active.get_attribute("data-component") == mid.component(9)
    assert active.get_attribute("tabindex") == "0" and "drop-shadow" in active.value_of_css_property("filter")
    active.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    assert browser.switch_to.active_element.get_attribute("data-component") == mid.component(11)
    browser.switch_to.active_element.send_keys(Keys.SPACE)
    assert "mltrace-selected" in classes(
        node(browser, f".mltrace-component[data-component='{mid.component(11)}']")
    )
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".mltrace-node[data-run-id]")) == 60)
    first = browser.switch_to.active_element  # the keyboard focus moved into the expanded group
    assert int(first.get_attribute("data-run-id")) in {mid.ids[(11, i)] for i in range(30)}
    first.send_keys(Keys.SPACE)
    assert "mltrace-focusing" in classes(node(browser, "svg.mltrace-svg"))
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    assert "mltrace-focusing" not in classes(node(browser, "svg.mltrace-svg"))


def test_every_export_parses(airflow, browser, lineages, downloads):
    from selenium.webdriver.common.by import By

    af, _ = airflow
    mid = lineages["mid"]
    open_trace(browser, af.base, mid.output)
    graph(browser, f"g.expand({mid.component(2)!r})")  # a mixed view: 30 components and 30 runs
    files = {}
    for fmt in ("dot", "mermaid", "json", "svg", "png"):
        node(browser, ".mltrace-export summary").click()
        node(browser, f".mltrace-export-menu [data-format='{fmt}']").click()
        name = graph(browser, f"MltraceTrace.exportFilename(g, {fmt!r})")
        files[fmt] = downloaded(downloads, name)
    labels = dot_labels(files["dot"].decode())
    assert labels["output"] == mid.output and len(labels) == 1 + 30 + 30
    (layer1,) = [label for label in labels.values() if label.startswith(f"{mid.component(1)} ×30\n")]
    assert layer1.split("\n")[1:2] == ["29 success · 1 failed"]
    assert labels[f"r{mid.ids[(2, 0)]}"] == f"{mid.component(2)} #{mid.ids[(2, 0)]}\nsuccess · 4 min 00 s"
    assert mermaid_problems(files["mermaid"].decode()) == []
    data = json.loads(files["json"])
    assert data["by"] == "component" and len(data["nodes"]) == 31
    assert {n["run_count"] for n in data["nodes"]} == {30, 1} and sum(
        n["run_count"] for n in data["nodes"]
    ) == 901
    svg = ET.fromstring(files["svg"])
    assert svg.tag == "{http://www.w3.org/2000/svg}svg" and float(svg.get("width")) > 100
    assert len(svg.findall(".//{http://www.w3.org/2000/svg}g[@data-key]")) == 1 + 30 + 30
    width, height = png_size(files["png"])
    assert width > 100 and height > 50
    # The run view's JSON is the trace as the API serves it.
    browser.find_element(By.XPATH, "//button[text()='Runs']").click()
    exported = json.loads(graph(browser, "g.exportText('json')"))
    embedded = json.loads(browser.execute_script("return document.getElementById('trace-data').textContent"))
    assert graph(browser, "g.mode") == "run"
    assert exported == embedded, (set(exported) ^ set(embedded), exported.get("by"))


def test_hooks_for_pages_that_build_on_the_graph(airflow, browser, lineages):
    """What the versions and diff pages use: classes and badges on nodes and edges, a toolbar item, the
    selection, without touching trace.js."""
    from selenium.webdriver.common.by import By

    af, _ = airflow
    mid = lineages["mid"]
    open_trace(browser, af.base, mid.output)
    seen = browser.execute_script(
        """
        const data = JSON.parse(document.getElementById('trace-data').textContent), calls = {draws: 0};
        window.hooked = MltraceTrace.render(document.getElementById('trace-graph'), data, {
          nodeClass: (n) => n.kind === 'component' && n.component.name === arguments[0] ? 'x-changed' : '',
          edgeClass: (e) => (e.runs > 30 ? 'x-heavy' : ''),
          badges: (n) => (n.kind === 'component' ? [{text: '+' + n.component.runs.length, title: 'added', className: 'x-added'}] : []),
          toolbar: (bar, graph) => { const b = document.createElement('button'); b.className = 'x-tool';
            b.textContent = 'Diff with…'; b.onclick = () => graph.setMode('run'); bar.appendChild(b); },
          onSelect: (item) => { calls.selected = item && item.key; },
          onDraw: () => { calls.draws++; },
        });
        window.hooked.select(window.hooked.keyOfComponent(arguments[0]));
        return calls;
        """,
        mid.component(3),
    )
    assert seen["selected"] == browser.execute_script(
        f"return window.hooked.keyOfComponent({mid.component(3)!r})"
    )
    assert seen["draws"] == 1
    (changed,) = browser.find_elements(By.CSS_SELECTOR, ".mltrace-node.x-changed")
    assert changed.get_attribute("data-component") == mid.component(3)
    assert len(browser.find_elements(By.CSS_SELECTOR, ".mltrace-hook-badge.x-added")) == 31
    assert browser.find_elements(By.CSS_SELECTOR, ".mltrace-edge.x-heavy")  # 90 run pairs between layers
    browser.find_element(By.CSS_SELECTOR, ".mltrace-toolbar .x-tool").click()
    assert browser.execute_script("return window.hooked.mode") == "run"


def test_10001_runs(airflow, browser, lineages, shots):
    from selenium.webdriver.common.by import By

    af, _ = airflow
    big = lineages["big"]
    t0 = time.perf_counter()
    open_trace(browser, af.base, big.output)
    ready = graph(browser, "g.readyAt - performance.getEntriesByType('navigation')[0].startTime")
    comps = browser.find_elements(By.CSS_SELECTOR, ".mltrace-node.mltrace-component")
    assert len(comps) == 51 and {c.get_attribute("data-count") for c in comps} == {"200", "1"}
    assert node(browser, ".mltrace-count").text == "10001 runs in 51 components"
    browser.save_screenshot(str(shots / "10-big-trace-components.png"))
    expand_ms = graph(
        browser,
        f"(() => {{ const t = performance.now(); g.expand({big.component(25)!r}); return performance.now() - t; }})()",
    )
    assert len(browser.find_elements(By.CSS_SELECTOR, ".mltrace-node[data-run-id]")) == 200
    graph(browser, f"g.collapse({big.component(25)!r})")
    assert not browser.find_elements(By.CSS_SELECTOR, ".mltrace-node[data-run-id]")
    assert graph(browser, "g.setCriticalPath(true).runs") == list(big.critical)
    data = json.loads(graph(browser, "g.exportText('json')"))
    assert len(data["nodes"]) == 51 and sum(n["run_count"] for n in data["nodes"]) == 10001
    browser.find_element(By.XPATH, "//button[text()='Runs']").click()  # the run view keeps a depth budget
    assert node(browser, ".mltrace-count").text == "Showing 201 of 10001 runs"
    browser.find_element(By.XPATH, "//button[text()='Show all']").click()  # too many: it stops short, says so
    assert node(browser, ".mltrace-count").text == "Showing 1401 of 10001 runs"
    assert "too many to draw one by one" in node(browser, ".mltrace-note-error").text
    print(
        f"\n10,001 runs: component view drawn {ready:.0f} ms after navigation (test browser, loaded machine; "
        f"{time.perf_counter() - t0:.1f} s with selenium), a 200-run component expanded in {expand_ms:.0f} ms"
    )


def test_airflow_dark_theme(airflow, browser, lineages, shots):
    af, _ = airflow
    mid = lineages["mid"]
    path = "/mltrace/trace?output=" + quote(mid.output, safe="")
    for theme in ("dark", "light"):
        browser.switch_to.default_content()
        browser.execute_script(
            f"localStorage.setItem('theme', {theme!r})"
        )  # Airflow's own colour-mode switch
        browser.get(af.base + "/plugin/mltrace" + path)
        enter_plugin_frame(browser, path)
        wait(
            browser,
            lambda d: d.execute_script("return !!(window.mltraceGraph && window.mltraceGraph.readyAt)"),
        )
        html = browser.execute_script("return document.documentElement.className")
        assert f"mltrace-theme-{theme}" in html and "mltrace-in-airflow" in html
        ours = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
        airflow_bg = browser.execute_script(
            "return getComputedStyle(window.parent.document.documentElement).getPropertyValue('--chakra-colors-bg')"
        )
        assert airflow_bg.strip() and ours == browser.execute_script(
            "const p = document.createElement('p'); p.style.color = arguments[0]; document.body.append(p);"
            "const c = getComputedStyle(p).color; p.remove(); return c;",
            airflow_bg.strip(),
        )
        glyph = browser.execute_script(
            "return getComputedStyle(document.querySelector('.mltrace-status-success .mltrace-glyph circle')).fill"
        )
        assert glyph == ("rgb(63, 185, 80)" if theme == "dark" else "rgb(26, 127, 55)")
        browser.switch_to.default_content()
        browser.save_screenshot(str(shots / f"11-trace-in-airflow-{theme}.png"))
