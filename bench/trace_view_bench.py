"""The trace page in a browser: how soon a big lineage is readable, and how fast it answers. The figures the
docs quote.

    python bench/trace_view_bench.py [--repeat 5]

A real ``airflow api-server`` (FAB auth manager, logged in as an admin) over a SQLite store holding the
generated lineages of tests/support/lineages.py: 10,001 runs (50 layers of 200, each run reading 3
outputs of the layer below, a report reading the last layer) and 901 runs (30 layers of 30). Debian's
headless Chromium navigates to each trace page ``--repeat`` times (medians):

- interactive: from navigation start to the component view drawn (trace.js's ``readyAt``), with the
  server's share (navigation start to the first byte of the page) and the browser's (parse + JSON +
  layout + drawing);
- expanding a 200-run component in place (collapsed again between tries), switching to the run view,
  the critical path, a search, and exports (DOT, Mermaid, SVG, PNG), each timed inside the page.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: tests/support
import mltrace_core  # noqa: E402
from tests.support.airflow_server import Airflow, ApiServer  # noqa: E402
from tests.support.browser import chrome, login, wait  # noqa: E402
from tests.support.lineages import layered  # noqa: E402

# label -> (set-up, the step timed, clean-up): JavaScript run in the page, `g` the graph, `C` a component
# of the middle layer, `R` a run id of another layer; "reload" loads the page afresh first.
TIMED = {
    "expand a 200-run component": ("", "g.expand(C)", "g.collapse(C)"),
    "collapse it again": ("g.expand(C)", "g.collapse(C)", ""),
    "run view (Runs button)": ("", "g.setMode('run')", "g.setMode('component')"),
    "back to the component view": ("g.setMode('run')", "g.setMode('component')", ""),
    "critical path on": ("reload", "g.setCriticalPath(true)", ""),
    "search a run by id (expands its component)": ("reload", "g.find('#' + R)", ""),
    "export DOT (this view)": ("", "g.exportText('dot')", ""),
    "export Mermaid (this view)": ("", "g.exportText('mermaid')", ""),
    "export SVG (this view)": ("", "g.exportText('svg')", ""),
}


def page_timing(driver, url: str) -> dict[str, float]:
    driver.get(url)
    wait(
        driver,
        lambda d: d.execute_script("return !!(window.mltraceGraph && window.mltraceGraph.readyAt)"),
        60,
    )
    return driver.execute_script(
        "const n = performance.getEntriesByType('navigation')[0], g = window.mltraceGraph;"
        "return {ready: g.readyAt - n.startTime, server: n.responseStart - n.startTime,"
        " received: n.responseEnd - n.startTime, layout: g.layoutMs, bytes: n.transferSize};"
    )


def timed(driver, script: str, component: str, run_id: int) -> float:
    return driver.execute_script(
        f"const g = window.mltraceGraph, C = arguments[0], R = arguments[1];"
        f"const t = performance.now(); {script}; return performance.now() - t;",
        component,
        run_id,
    )


def png_ms(driver) -> float:
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1], t = performance.now();"
        "window.mltraceGraph.exportBlob('png').then(() => done(performance.now() - t), (e) => done(-1));"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="trace page benchmark")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mltrace-trace-view-bench-"))
    af = Airflow(root)
    print("setting up Airflow and the store ...", file=sys.stderr, flush=True)
    af.set_up()
    store = mltrace_core.Store(af.store_uri, timeout=600)
    store.upgrade()
    t0 = time.perf_counter()
    lineages = {
        "901 runs": layered(store, 30, 30, prefix="mid"),
        "10,001 runs": layered(store, 50, 200, prefix="big"),
    }
    fill_s = time.perf_counter() - t0
    store.dispose()
    server = ApiServer(af)
    driver = None
    try:
        server.wait_ready()
        driver = chrome(root / "chromium")
        login(driver, af.base, "admin")
        rows: list[tuple[str, str, float]] = []
        for label, made in lineages.items():
            url = af.base + "/mltrace/trace?output=" + quote(made.output, safe="")
            page_timing(driver, url)  # warm: the server's caches, the browser's compiled scripts
            pages = [page_timing(driver, url) for _ in range(args.repeat)]
            for key, what in (
                ("ready", "interactive: component view drawn"),
                ("server", "of which the server (first byte)"),
                ("layout", "of which the layout"),
            ):
                rows.append((label, what, statistics.median(p[key] for p in pages)))
            component, run_id = made.component(made.layers // 2), made.ids[(made.layers // 3, 5)]
            for what, (setup, script, cleanup) in TIMED.items():
                samples = []
                for _ in range(args.repeat):
                    if setup == "reload":
                        page_timing(driver, url)
                    elif setup:
                        timed(driver, setup, component, run_id)
                    samples.append(timed(driver, script, component, run_id))
                    if cleanup:
                        timed(driver, cleanup, component, run_id)
                rows.append((label, what.replace("200-run", f"{made.width}-run"), statistics.median(samples)))
            rows.append(
                (
                    label,
                    "export PNG (this view)",
                    statistics.median(png_ms(driver) for _ in range(args.repeat)),
                )
            )
        print(
            f"Medians of {args.repeat}; logged {sum(m.runs for m in lineages.values()):,} runs through Store.log in {fill_s:.0f} s.\n"
        )
        print("| lineage | step | ms |\n|---|---|---|")
        for label, what, ms in rows:
            print(f"| {label} | {what} | {ms:.0f} |")
    finally:
        if driver is not None:
            driver.quit()
        server.stop()


if __name__ == "__main__":
    main()
