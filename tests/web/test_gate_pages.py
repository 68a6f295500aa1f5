"""Flagged data and lineage gates in the tab: the trace page lists and marks them (the graph's data and
text, so the marks never rely on colour), and the task-instance tab warns when a try read flagged data."""

from __future__ import annotations

import json
from urllib.parse import quote

import mltrace_core
from mltrace_core import ExternalIdentity
from mltrace_core.checks import GATE_TAG
from tests.support import pages
from tests.support.timeline import at
from tests.web.conftest import ROOT

DAG_RUN = "manual__2026-01-01T00:00:00+00:00"


def log(store, component, inputs=(), outputs=(), start=0, status="success", external=None, tags=()):
    run = mltrace_core.ComponentRun(component, status=status)
    run.set_start_timestamp(at(start))
    run.set_end_timestamp(at(start + 1))
    for p in inputs:
        run.add_input(*p) if isinstance(p, tuple) else run.add_input(p)
    for p in outputs:
        run.add_output(*p) if isinstance(p, tuple) else run.add_output(p)
    run.external = external
    run.component_tags = tuple(tags)
    return store.log(run)


def trace_data(page_text: str) -> dict:
    start = page_text.index('<script type="application/json" id="trace-data">')
    body = page_text[start:].split(">", 1)[1].split("</script>", 1)[0]
    return json.loads(body)


def test_trace_page_marks_flagged_pointers_and_failing_gates(client, store):
    ingest = log(store, "ingest", [], [("raw.csv", "v1")], 0)
    train = log(store, "train", [("raw.csv", "v1")], [("model.pkl", "m1")], 2)
    gate = log(store, "promote.gate", [("model.pkl", "m1")], [], 4, status="failed", tags=[GATE_TAG])
    log(store, "other.reader", [("model.pkl", "m1")], [], 5)  # a plain reader is no gate
    store.flag_output_id("raw.csv")
    r = client.get(f"{ROOT}/trace?output={quote('model.pkl')}")
    assert r.status_code == 200
    marks = trace_data(r.text)["marks"]
    assert marks["flagged"] == {
        str(ingest): [{"pointer": "raw.csv", "version": "v1", "side": "output"}],
        str(train): [{"pointer": "raw.csv", "version": "v1", "side": "input"}],
    }
    assert marks["gates"] == {str(train): [{"run": gate, "component": "promote.gate", "passed": False}]}
    text = pages.Page(r.text).plain
    assert f"⚑ flagged: raw.csv version v1 , read by run #{train}" in text
    assert f"✗ gate failed: promote.gate run #{gate} checked what run #{train} wrote" in text
    assert "trace-marks.js" in r.text

    store.unflag_output_id("raw.csv")
    clean = client.get(f"{ROOT}/trace?output={quote('model.pkl')}")
    assert trace_data(clean.text)["marks"]["flagged"] == {}
    assert "⚑ flagged:" not in pages.Page(clean.text).plain


def test_task_instance_tab_warns_when_the_try_read_flagged_data(client, store):
    log(store, "ingest", [], [("raw.csv", "v1")], 0)
    ext = ExternalIdentity("churn", DAG_RUN, "score", 1, -1)
    log(store, "churn.score", [("raw.csv", "v1"), "model.pkl"], ["scores.csv"], 2, external=ext)
    url = f"{ROOT}/ti?dag_id=churn&run_id={quote(DAG_RUN)}&task_id=score&map_index=-1"
    assert "read flagged data" not in pages.get_page(client, url).plain
    store.flag_output_id("raw.csv")
    assert (
        "⚑ This try read flagged data: raw.csv version v1 . Its outputs" in pages.get_page(client, url).plain
    )
    store.flag_output_id("scores.csv")  # what it wrote is no reason for this warning
    text = pages.get_page(client, url).plain
    assert "⚑ This try read flagged data: raw.csv version v1 . Its outputs" in text
