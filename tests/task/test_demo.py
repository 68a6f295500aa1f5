"""``make demo``'s program, end to end in a process of its own: a real API server, every task try in a
LocalExecutor process, the listener registered by the installed plugin (no test wiring), the store filled."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

import mltrace_core
from tests.support.airflow_env import REPO
from tests.support.processes import free_port

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


@pytest.mark.timeout(600)
def test_demo_fills_the_store_through_real_task_processes(tmp_path):
    home = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MLTRACE_"))}
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "demo.py"),
            "--home",
            str(home),
            "--port",
            str(free_port()),
            "--no-serve",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (
        f"Trace of {home.resolve()}/data/predictions/churn_scores.csv" in result.stdout
    )  # canonical: a path
    # The two rounds' predictions differ from where their data came in: the ingest and the batches.
    diff = result.stdout[result.stdout.index("$ mltrace diff") :]
    assert "~ changed" in diff and "first divergence" in diff
    flat = " ".join(re.sub(r"[│├└─]", " ", diff).split())  # as one line, whatever the terminal wrapped
    assert "churn_training.ingest ◀ first divergence" in flat

    # A clean console: the demo's own lines only. Airflow's output (its warnings, the failed try's
    # traceback) is in a log file the demo names; the console says what happened in one line each.
    console = result.stdout + result.stderr
    for noise in ("Traceback", "[warning", "[error", "error_detail", "Task failed with exception"):
        assert noise not in console, noise
    dag_runs = re.findall(
        r"^    round (\d)  (\w+) +(\w+) +\d[\d.]* (?:ms|s|min \d\d s)   (\d+) runs traced$",
        result.stdout,
        re.M,
    )
    assert [(r, d, s) for r, d, s, _ in dag_runs] == [
        (str(i), dag_id, "success")
        for i in (1, 2)
        for dag_id in ("churn_training", "churn_batch_predict", "churn_report")
    ]
    assert [int(n) for *_, n in dag_runs] == [6 + 1, 8, 2] * 2  # churn_training: 6 tasks, ingest tried twice
    explained = re.findall(
        r"^ +ingest: try 1 failed \(ConnectionError: .*\); try 2 succeeded$", result.stdout, re.M
    )
    assert len(explained) == 2
    log = home / "airflow.log"
    assert str(log) in result.stdout and "Task failed with exception" in log.read_text()
    assert "mltrace recent" in result.stdout and "/plugin/mltrace" in result.stdout

    store = mltrace_core.Store(f"sqlite:///{home}/airflow/mltrace.db")
    try:
        runs = store.get_recent_runs(100)
        assert len(runs) == 2 * (7 + 8 + 2)
        # The untraced report DAG was logged in its task processes: plugin + trace_all_tasks, nothing else.
        report = [r for r in runs if r.component.startswith("churn_report.")]
        assert len(report) == 4 and all(r.external.url.startswith("http://127.0.0.1:") for r in report)
        # The last trace of the predictions follows the last training run only.
        trains = [r for r in runs if r.component == "churn_training.train"]
        predictions = f"file://{home.resolve()}/data/predictions/churn_scores.csv"
        traced_trains = [
            n.run.id for n in store.trace(predictions).nodes if n.run.component == "churn_training.train"
        ]
        assert traced_trains == [max(r.id for r in trains)]
    finally:
        store.dispose()
    # Task logs exist for the UI: every try ran in a process of its own.
    assert len(list((home / "airflow" / "logs").rglob("attempt=*.log"))) == 2 * (7 + 8 + 2)
