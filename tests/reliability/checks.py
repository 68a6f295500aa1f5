"""The checks the real-deployment tests share: what Airflow says ran, what the store holds, and the
scenario of several runs of each example DAG at once."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import quote

import mltrace_core
from tests.reliability import airflow_lineage

FLAKY = "ConnectionError: customer export not ready yet (simulated: the retry succeeds)"


def open_store(uri: str) -> mltrace_core.Store:
    return mltrace_core.Store(uri, timeout=10)


def airflow_tries(airflow, token, dag_runs) -> dict[tuple, str]:
    """Every task try Airflow ran in these DAG runs: identity -> state."""
    tries = {}
    for dag_id, runs in dag_runs.items():
        for run in runs:
            for ti in airflow.task_instances(token, dag_id, run["dag_run_id"]):
                if ti["try_number"] == 0:
                    continue  # never ran (not expected here: every run succeeds)
                for t in airflow.tries(token, dag_id, run["dag_run_id"], ti["task_id"], ti["map_index"]):
                    identity = (dag_id, run["dag_run_id"], t["task_id"], t["map_index"], t["try_number"])
                    tries[identity] = t["state"]
    return tries


def trigger_at_once(airflow, token, dag_id: str, n: int) -> list[str]:
    return [airflow.trigger(dag_id, token) for _ in range(n)]


def wait_for(condition, timeout: float, what: str, airflow=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if airflow is not None:
            airflow.check_alive()
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise TimeoutError(f"waited {timeout} s for {what}")


def models_published(airflow, token) -> bool:
    """Whether a training run has published the ``churn_model`` Asset. Read from the Asset itself
    (its last event), not from ``/api/v2/assets/events``: that list serialises the DAG runs each event
    created, and answers 500 while one of them is still queued (its ``start_date`` is null; Airflow
    #71360, present in 3.3.2) -- which is exactly when this test polls it."""
    (asset,) = airflow.api("GET", "/api/v2/assets?name_pattern=churn_model", token)["assets"]
    return (asset.get("last_asset_event") or {}).get("id") is not None


def check_every_try_is_one_run(lineage, tries) -> None:
    assert lineage.duplicates == []
    assert set(lineage.tries) == set(tries)  # nothing missing, nothing extra
    for identity, state in tries.items():
        run = lineage.tries[identity]
        dag_id, run_id, task_id, map_index, try_number = identity
        assert run.component == f"{dag_id}.{task_id}"
        assert (run.status, state) in (("success", "success"), ("failed", "failed")), identity
        assert f"/dags/{dag_id}/runs/{quote(run_id)}/tasks/{task_id}" in run.url
        assert run.url.endswith(f"try_number={try_number}")
        if run.status == "failed":  # the only failure: the example's flaky export, retried
            assert (task_id, try_number, run.error) == ("ingest", 1, FLAKY), identity


def check_batches_follow_their_model(airflow, token, store, dag_runs, lineage) -> None:
    data = Path(airflow.root / "data").resolve()
    trainings = {r["dag_run_id"] for r in dag_runs["churn_training"]}
    for batch in dag_runs["churn_batch_predict"]:
        run_id = batch["dag_run_id"]
        scores = [
            i for i in lineage.tries if i[:3] == ("churn_batch_predict", run_id, "score")
        ]  # fmt: skip
        models = {n for i in scores for n in lineage.reads[i] if n.startswith(f"{data}/models/")}
        assert len(scores) == 3 and len(models) == 1, (run_id, models)  # one model for the whole batch
        (model,) = models
        training = Path(model).parent.name
        assert training in trainings

        # The trace of this batch's predictions: this batch, and the training run of its model only.
        merged = f"{data}/predictions/{run_id}/churn_scores.csv"
        trace = store.trace(merged)
        got = {(n.run.external.dag_id, n.run.external.run_id, n.run.external.task_id) for n in trace.nodes}
        assert {(d, r) for d, r, _ in got} == {("churn_batch_predict", run_id), ("churn_training", training)}
        assert {t for _, _, t in got} == {
            "merge_predictions", "score", "fetch_batch", "train", "featurize", "validate", "ingest",
        }  # fmt: skip

        # The same trace through the api-server, with a real token.
        shown = airflow.api("GET", f"/mltrace/api/trace?output={quote(merged, safe='')}", token)
        assert sorted(n["id"] for n in shown["nodes"]) == sorted(n.run.id for n in trace.nodes)
        assert {(e["from"], e["to"], e["via"]) for e in shown["edges"]} == set(trace.edges)
        (train,) = [n.run for n in trace.nodes if n.run.component == "churn_training.train"]
        status, page = airflow.request("GET", f"/mltrace/runs/{train.id}", token)
        assert status == 200
        html = page.decode()
        assert "churn_training.train" in html and training in html and model in html
        status, page = airflow.request("GET", f"/mltrace/trace?output={quote(merged, safe='')}", token)
        assert status == 200 and merged in page.decode()


def parallel_runs(airflow, token, store_uri, trainings: int = 4, batches: int = 3) -> dict:
    """Trigger ``trainings`` training runs at once and, as soon as the first model is published,
    ``batches`` batch runs at once while the others still train (the Asset events start more batches,
    and the reports, by themselves). Then check: every DAG run succeeded, every task try is exactly one
    run with its identity, tries really ran in parallel, the lineage is the rule's, and each batch traces
    to its own model's training, in the store and through the api-server. Returns the DAG runs."""
    trigger_at_once(airflow, token, "churn_training", trainings)
    wait_for(lambda: models_published(airflow, token), 180, "a first model", airflow)
    trigger_at_once(airflow, token, "churn_batch_predict", batches)
    dag_runs = airflow.wait_quiet(token, timeout=300)

    states = {d: sorted(r["state"] for r in runs) for d, runs in dag_runs.items()}
    assert states["churn_training"] == ["success"] * trainings
    assert len(dag_runs["churn_batch_predict"]) >= batches + 1  # by hand, and at least one by the Asset
    assert {"asset_triggered", "manual"} == {r["run_type"] for r in dag_runs["churn_batch_predict"]}
    assert all(s == "success" for ss in states.values() for s in ss), states

    store = open_store(store_uri)
    try:
        lineage = airflow_lineage.read(store)
        check_every_try_is_one_run(lineage, airflow_tries(airflow, token, dag_runs))
        assert airflow_lineage.most_at_once(lineage.times) >= 3  # the executor really ran tries in parallel
        assert lineage.edges == lineage.expected  # the lineage rule, recomputed from scratch
        check_batches_follow_their_model(airflow, token, store, dag_runs, lineage)
    finally:
        store.dispose()
    return dag_runs
