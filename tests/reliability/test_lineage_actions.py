"""From lineage to action under a real Airflow (issue 14): scheduler + dag-processor + api-server, the
LocalExecutor, the example DAGs of ``dags/`` and a gate DAG (``action_dags/churn_promote.py``) in front of
a "publish" task, every try traced into a PostgreSQL store. One deployment, one scenario, in order:

1. the example pipeline runs (training, then the batch and the report its Assets schedule);
2. the raw customer export's version is flagged (with a reason): the task-instance tab of a try that read
   it warns, and the gate DAG blocks "publish" (its decision is a failed run naming the flag);
   ``churn_batch_predict``, scoring with the model trained on that export, warns (task log, run notes)
   and, with ``on_flagged_input = fail``, fails before scoring, its runs logged failed with the reason;
3. ``impact`` of the flagged version lists exactly the tries the lineage oracle says it reached;
4. the export is fixed; a user who may not edit DAG runs gets 403 from the re-run action (with a valid
   CSRF token) and Airflow clears nothing; the CLI previews the same clear (Airflow's dry run);
5. an Op user previews and confirms the re-run in the tab: Airflow re-runs exactly those task instances,
   the new versions' traces no longer hold the flag, the re-run gate passes and "publish" runs, and the
   old versions stay traceable.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest

import mltrace_core
from tests.reliability import airflow_lineage
from tests.reliability.checks import open_store, wait_for
from tests.reliability.deployment import Deployment, Service
from tests.support.airflow_server import BIN, REPO, USERS_SCRIPT
from tests.support.stores import create_pg_database, drop_pg_database

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.slow]

OP_PASSWORD = "op-pw"
REASON = "the export doubled every customer"


@pytest.fixture(scope="module")
def airflow(pg_server, airflow_metadata, tmp_path_factory):
    root = tmp_path_factory.mktemp("actions")
    dags = root / "dags"
    dags.mkdir()
    for path in [*(REPO / "dags").glob("*.py"), Path(__file__).parent / "action_dags" / "churn_promote.py"]:
        shutil.copy(path, dags / path.name)
    metadata = airflow_metadata.database("mltrace_actions_airflow")
    store = create_pg_database(pg_server, "mltrace_actions_store")
    deployment = Deployment(
        root,
        metadata_uri=metadata,
        store_conn=store,
        parallelism=4,
        copied_from=airflow_metadata.deployment.home,
    )
    deployment.extra_env = {
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__MLTRACE__TRACE_ALL_TASKS": "True",
    }
    started = time.monotonic()
    try:
        deployment.set_up()
        deployment.run("python", "-c", USERS_SCRIPT % ([("op", "Op", OP_PASSWORD)],))
        deployment.start()
        deployment.wait_ready()
        yield deployment, store
    finally:
        deployment.stop()
        for uri in (metadata, store):
            drop_pg_database(uri)
        print(f"\nissue 14 end-to-end module: {time.monotonic() - started:.0f} s")


def jwt(airflow, user: str, password: str) -> str:
    body = json.dumps({"username": user, "password": password}).encode()
    req = urllib.request.Request(airflow.base + "/auth/token", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())["access_token"]


def browser(airflow, token: str, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
    """A request as the browser sends it: the session cookie, a form body."""
    headers = {"Cookie": f"_token={token}", "Sec-Fetch-Site": "same-origin"}
    data = None
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        data = urllib.parse.urlencode(form).encode()
    req = urllib.request.Request(airflow.base + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def csrf(token: str) -> str:
    """The page's CSRF token for this session (web/auth.py derives it from the session cookie)."""
    return hashlib.sha256(b"mltrace-csrf\0" + token.encode()).hexdigest()


def dag_run(airflow, token, dag_id, run_id) -> dict:
    return airflow.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}", token)


def ended(airflow, token, dag_id, run_id):
    run = dag_run(airflow, token, dag_id, run_id)
    return run if run["state"] in ("success", "failed") else None


def tries_of(airflow, token, dag_id, run_id) -> dict[tuple[str, int], int]:
    return {
        (t["task_id"], t["map_index"]): t["try_number"] for t in airflow.task_instances(token, dag_id, run_id)
    }


def closure(lineage, start) -> set:
    """Every try the oracle's lineage edges lead to from ``start``, downstream, ``start`` excluded."""
    readers: dict = {}
    for (consumer, _pointer), producer in lineage.expected.items():
        readers.setdefault(producer, set()).add(consumer)
    seen, todo = set(), [start]
    while todo:
        for nxt in readers.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def restart_scheduler(airflow, on_flagged_input: str) -> None:
    """The scheduler again, its task processes (the LocalExecutor's) reading ``[mltrace] on_flagged_input``
    from their environment: each try reads it when it starts."""
    (old,) = [s for s in airflow.services if s.name.startswith("scheduler")]
    old.stop()
    airflow.services.remove(old)
    airflow.extra_env["AIRFLOW__MLTRACE__ON_FLAGGED_INPUT"] = on_flagged_input
    airflow.services.append(
        Service(airflow, f"scheduler-{on_flagged_input}", "scheduler", "--skip-serve-logs")
    )


def identity(run) -> tuple:
    e = run.external
    return (e.dag_id, e.run_id, e.task_id, e.map_index, e.try_number)


@pytest.mark.timeout(900)
def test_flag_gate_impact_and_rerun_through_airflow(airflow):
    airflow, store_uri = airflow
    admin = airflow.token("admin")
    store = open_store(store_uri)
    data = (airflow.root / "data").resolve()

    # 1. The example pipeline runs.
    training = airflow.trigger("churn_training", admin)
    dag_runs = airflow.wait_quiet(admin, timeout=300)
    assert all(r["state"] == "success" for runs in dag_runs.values() for r in runs), dag_runs
    assert {d: len(r) for d, r in dag_runs.items()} == {
        "churn_training": 1,
        "churn_batch_predict": 1,
        "churn_report": 1,
    }
    raw, metrics = f"{data}/raw/{training}/customers.csv", f"{data}/reports/{training}/metrics.json"
    bad = store.versions(raw)[0]
    old_metrics = store.versions(metrics)[0]

    # 2. The raw export's version is flagged: the tab warns, the gate blocks "publish".
    store.flag(f"{raw}@{bad.version}", reason=REASON, by="e2e")
    status, page = airflow.request(
        "GET",
        f"/mltrace/ti?dag_id=churn_training&run_id={urllib.parse.quote(training)}&task_id=validate",
        admin,
    )
    assert status == 200 and "This try read flagged data" in page.decode()
    promote = airflow.trigger("churn_promote", admin, output=metrics)
    wait_for(lambda: ended(airflow, admin, "churn_promote", promote), 180, "the gate DAG", airflow)
    states = {t["task_id"]: t["state"] for t in airflow.task_instances(admin, "churn_promote", promote)}
    assert states == {"gate": "failed", "publish": "upstream_failed"}
    (decision,) = store.get_runs_for_dag_run("churn_promote", promote, "gate")
    assert decision.status == "failed" and f"{raw} version {bad.version} is flagged" in decision.notes

    # 2b. The batch scores with the model trained on the flagged export: each score try warns (task log,
    # run notes), naming the flag and the run that read it, and goes on (on_flagged_input = warn).
    upstream = f"{raw}@{bad.version} flagged by e2e at "
    warned = airflow.trigger("churn_batch_predict", admin)
    airflow.wait_quiet(admin, timeout=300)  # the batch, and the report its predictions schedule
    assert dag_run(airflow, admin, "churn_batch_predict", warned)["state"] == "success"
    scores = store.get_runs_for_dag_run("churn_batch_predict", warned, "score")
    assert scores and all(r.status == "success" for r in scores)
    for r in scores:
        assert "mltrace: an input was made from flagged data: " + upstream in r.notes, r.notes
        assert REASON in r.notes and "(upstream: read or written by run " in r.notes
    logs = [
        t
        for p, t in airflow.task_logs().items()
        if f"run_id={warned}" in str(p) and "task_id=score" in str(p)
    ]
    assert len(logs) == len(scores) and all("reads a flagged input: " + upstream in t for t in logs)

    # 2c. With on_flagged_input = fail, the batch fails before scoring: no score written, each score run
    # logged failed with the reason; merge_predictions never runs.
    restart_scheduler(airflow, "fail")
    stopped = airflow.trigger("churn_batch_predict", admin)
    wait_for(lambda: ended(airflow, admin, "churn_batch_predict", stopped), 240, "the stopped batch", airflow)
    airflow.wait_quiet(admin, timeout=300)
    states = {
        (t["task_id"], t["map_index"]): t["state"]
        for t in airflow.task_instances(admin, "churn_batch_predict", stopped)
    }
    assert {s for (task, _), s in states.items() if task == "score"} == {"failed"}, states
    assert states[("merge_predictions", -1)] == "upstream_failed", states
    assert not (data / "predictions" / stopped).exists()  # nothing scored
    failed = store.get_runs_for_dag_run("churn_batch_predict", stopped, "score")
    assert failed and all(r.status == "failed" and r.outputs == () for r in failed)
    for r in failed:
        assert r.error.startswith("FlaggedInputError: task score reads flagged input: "), r.error
        assert upstream in r.error and REASON in r.error
    restart_scheduler(airflow, "warn")

    # 3. Impact: exactly the tries the lineage oracle reaches from the flagged version's writer.
    lineage = airflow_lineage.read(store)
    (writer,) = [i for i, w in lineage.writes.items() if w.get(raw) == bad.version]
    impact = store.impact(f"{raw}@{bad.version}", limit=1000)
    assert impact.next is None
    assert {identity(run) for run, _live in impact.runs} == closure(lineage, writer)
    expected_groups = {
        (dag, run_id): sorted({i[2] for i in closure(lineage, writer) if i[:2] == (dag, run_id)})
        for dag, run_id, *_ in closure(lineage, writer)
    }
    assert {(a.dag_id, a.run_id): list(a.task_ids) for a in impact.airflow} == expected_groups
    assert ("churn_training", training) in expected_groups and ("churn_promote", promote) in expected_groups

    # 4. The export is fixed (re-exported; a run of its own writes the good version). A reader may not
    # re-run: 403 even with a valid CSRF token, and Airflow clears nothing. Nor may a Viewer.
    sys.path.insert(0, str(REPO / "dags"))
    import ml_steps  # noqa: PLC0415  # the example DAGs' own steps

    fix = mltrace_core.ComponentRun("manual.re_export")
    fix.set_start_timestamp(datetime.now(timezone.utc))
    ml_steps.ingest(raw, seed=7)
    fix.add_output(raw, ml_steps.content_version(raw))
    fix.set_end_timestamp(datetime.now(timezone.utc))
    store.log(fix)
    before = {g: tries_of(airflow, admin, *g) for g in expected_groups}
    address = f"{raw}@{bad.version}"
    for user, password in (("reader", "reader-pw"), ("viewer", "viewer-pw")):
        token = jwt(airflow, user, password)
        status, _ = browser(
            airflow,
            token,
            "POST",
            "/mltrace/rerun",
            {"csrf_token": csrf(token), "address": address, "step": "preview"},
        )
        assert status == 403, user
    op = jwt(airflow, "op", OP_PASSWORD)
    status, _ = browser(airflow, op, "POST", "/mltrace/rerun", {"address": address, "step": "preview"})
    assert status == 403  # an Op without the page's CSRF token: a forged form
    assert {g: tries_of(airflow, admin, *g) for g in expected_groups} == before

    cli = subprocess.run(
        [str(BIN / "mltrace"), "--db-uri", store_uri, "impact", address, "--clear", "--airflow-url", airflow.base],
        input="n\n", capture_output=True, text=True, timeout=120, check=False,
        env={**airflow.env(), "AIRFLOW_API_TOKEN": admin},
    )  # fmt: skip
    assert "Nothing cleared" in cli.stdout + cli.stderr, cli.stdout + cli.stderr
    assert {g: tries_of(airflow, admin, *g) for g in expected_groups} == before

    # 5. The Op user: the review page offers the re-run; the preview is Airflow's dry run, the confirm clears.
    status, review = browser(airflow, op, "GET", "/mltrace/review")
    assert status == 200 and 'name="step" value="preview"' in review
    status, preview = browser(
        airflow, op, "POST", "/mltrace/rerun", {"csrf_token": csrf(op), "address": address, "step": "preview"}
    )
    assert status == 200, preview[:2000]
    for _dag, run_id in expected_groups:
        assert run_id in preview
    assert {g: tries_of(airflow, admin, *g) for g in expected_groups} == before  # a preview clears nothing
    plan = re.search(r'name="plan" value="([^"]*)"', preview).group(1)
    status, done = browser(
        airflow,
        op,
        "POST",
        "/mltrace/rerun",
        {"csrf_token": csrf(op), "address": address, "step": "confirm", "plan": html.unescape(plan)},
    )
    assert status == 200 and "Airflow cleared" in done, done[:2000]
    wait_for(
        lambda: all(ended(airflow, admin, *g) for g in expected_groups) and tries_of(airflow, admin, "churn_training", training) != before[("churn_training", training)],
        300, "the cleared DAG runs", airflow,
    )  # fmt: skip
    airflow.wait_quiet(admin, timeout=300)
    wait_for(lambda: ended(airflow, admin, "churn_promote", promote), 180, "the re-run gate", airflow)
    after = {g: tries_of(airflow, admin, *g) for g in expected_groups}
    for group, tasks in expected_groups.items():
        for (task_id, map_index), n in after[group].items():
            if task_id in tasks:
                assert n == before[group][(task_id, map_index)] + 1, (group, task_id)
    ingest = [k for k in after[("churn_training", training)] if k[0] == "ingest"]
    assert all(
        after[("churn_training", training)][k] == before[("churn_training", training)][k] for k in ingest
    )

    new_metrics = store.versions(metrics)[0]
    assert new_metrics.run != old_metrics.run
    assert store.check(f"run:{new_metrics.run}").passed
    # The cleared gate re-ran alongside the training it checks (Airflow re-runs the DAG runs side by side),
    # so it may have seen the old metrics; promoting the fixed metrics now passes and publishes.
    again = airflow.trigger("churn_promote", admin, output=metrics)
    wait_for(lambda: ended(airflow, admin, "churn_promote", again), 180, "the gate DAG, again", airflow)
    states = {t["task_id"]: t["state"] for t in airflow.task_instances(admin, "churn_promote", again)}
    assert states == {"gate": "success", "publish": "success"}
    # The old versions stay traceable, flag and all.
    old = store.trace(f"run:{old_metrics.run}")
    assert any(n.run.id == bad.run for n in old.nodes)
    assert "flagged" in {r.check for r in store.check(f"run:{old_metrics.run}").reasons}
    store.dispose()
