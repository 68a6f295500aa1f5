"""Runs logged from plain Python reach an OpenLineage backend through openlineage-python's client --
bounded in time, and never at the caller's expense. The backend is a loopback capture server (our own
test peer), a dead port, or a server that accepts and never answers."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

import mltrace_core
from tests.support.openlineage import Capture, validate_event
from tests.support.processes import HungServer


@pytest.fixture
def openlineage_env(monkeypatch, tmp_path):
    for name in ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG", "OPENLINEAGE_DISABLED", "OPENLINEAGE_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no openlineage.yml in the working directory
    monkeypatch.setenv("MLTRACE_OPENLINEAGE_TIMEOUT", "2")
    return monkeypatch


def test_plain_python_runs_are_emitted_with_their_mltrace_run(store, openlineage_env):
    with Capture() as capture:
        openlineage_env.setenv("OPENLINEAGE_URL", capture.url)
        openlineage_env.setenv("OPENLINEAGE_NAMESPACE", "team")
        with mltrace_core.run(
            "train", inputs=["/data/x.csv"], outputs=["s3://bucket/model.pkl"], store=store
        ) as cr:
            cr.add_input("/data/y.csv", "sha256:ab")
        with (
            pytest.raises(ValueError, match="boom"),
            mltrace_core.run("score", inputs=["s3://bucket/model.pkl"], store=store),
        ):
            raise ValueError("boom")
    assert set(capture.paths) == {"/api/v1/lineage"}
    for event in capture.events:
        validate_event(event)
    train, score = store.get_recent_runs(2)[::-1]
    assert [(e["job"]["name"], e["eventType"]) for e in capture.events] == [
        ("train", "START"),
        ("train", "COMPLETE"),
        ("score", "START"),
        ("score", "FAIL"),
    ]
    start, complete = capture.events[:2]
    assert start["job"]["namespace"] == "team" and start["run"]["runId"] == complete["run"]["runId"]
    assert complete["run"]["facets"]["mltrace_run"]["id"] == train.id
    assert complete["run"]["facets"]["mltrace_run"]["component"] == "train"
    assert [(d["namespace"], d["name"]) for d in complete["inputs"]] == [
        ("file", "/data/x.csv"),
        ("file", "/data/y.csv"),
    ]
    assert complete["inputs"][1]["facets"]["version"]["datasetVersion"] == "sha256:ab"
    assert [(d["namespace"], d["name"]) for d in complete["outputs"]] == [("s3://bucket", "model.pkl")]
    fail = capture.events[3]
    assert fail["run"]["facets"]["errorMessage"]["message"].startswith("ValueError: boom")
    assert fail["outputs"] == [] and fail["run"]["facets"]["mltrace_run"]["id"] == score.id


@pytest.mark.slow  # waits out time bounds or starts a process: in the full run, not test-fast
@pytest.mark.parametrize("backend", ["dead", "hung"])
def test_a_dead_or_hung_backend_costs_the_caller_at_most_the_bound(
    store, openlineage_env, dead_port, backend, caplog
):
    hung = HungServer() if backend == "hung" else None
    port = hung.port if hung else dead_port
    openlineage_env.setenv("OPENLINEAGE_URL", f"http://127.0.0.1:{port}")
    openlineage_env.setenv("MLTRACE_OPENLINEAGE_TIMEOUT", "1")
    try:
        started = time.monotonic()
        with mltrace_core.run("train", inputs=["/data/x.csv"], outputs=["/data/m.pkl"], store=store):
            pass
        took = time.monotonic() - started
    finally:
        if hung:
            hung.close()
    assert took < 2.5, took  # the 1 s bound (plus an admission wait when earlier sends still hang)
    (run,) = store.get_recent_runs(5)
    assert run.component == "train" and run.outputs == ("/data/m.pkl",)  # stored all the same
    assert "was not sent to OpenLineage" in caplog.text


@pytest.mark.slow  # waits out time bounds or starts a process: in the full run, not test-fast
def test_without_configuration_nothing_of_openlineage_is_imported(tmp_path):
    code = (
        "import sys, mltrace_core\n"
        "with mltrace_core.run('c', outputs=['x.csv']): pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('openlineage')))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MLTRACE_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
