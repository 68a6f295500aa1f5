"""The example DAGs, run for real with ``dag.test()``: the exact lineage rows they log, twice."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltrace_core.cli import cli
from tests.support.airflow import run_dag, runs_of, ti_url

pytestmark = pytest.mark.airflow

EXAMPLES = {"churn_training", "churn_batch_predict", "churn_report"}


def data_dir() -> str:
    return str(Path(os.environ["MLTRACE_EXAMPLE_DATA"]).resolve())


def content_version(path: str) -> str:
    import ml_steps  # from dags/, on sys.path once the DAGs are parsed

    return ml_steps.content_version(path)


@pytest.mark.timeout(120)
def test_every_dag_in_dags_imports(airflow_db):
    from airflow.dag_processing.dagbag import BundleDagBag

    folder = os.environ["AIRFLOW__CORE__DAGS_FOLDER"]
    bag = BundleDagBag(folder, bundle_path=folder, bundle_name="dags-folder")
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == EXAMPLES
    assert {t.task_id for t in bag.dags["churn_training"].tasks} == {
        "ingest",
        "validate",
        "featurize",
        "train",
        "evaluate",
        "publish",
    }


def run_files(dr) -> dict[str, str]:
    """The files of one DAG run: every name is under a directory named by its run id."""
    d, run = data_dir(), dr.run_id
    return {
        "raw": f"{d}/raw/{run}/customers.csv",
        "report": f"{d}/reports/{run}/validation.json",
        "features": f"{d}/features/{run}/customers.json",
        "trained": f"{d}/models/{run}/churn.json",
        "metrics": f"{d}/reports/{run}/metrics.json",
        "registry": f"{d}/registry/{run}/churn.json",
        "batch": [f"{d}/batches/{run}/part-{i}.csv" for i in range(3)],
        "scores": [f"{d}/predictions/{run}/part-{i}.csv" for i in range(3)],
        "merged": f"{d}/predictions/{run}/churn_scores.csv",
    }


def model_uri() -> str:
    return f"{data_dir()}/models/churn.json"  # the Asset file:///...: one pointer, named by its path


def predictions_uri() -> str:
    return f"{data_dir()}/predictions/churn_scores.csv"


def training_rows(dr) -> list:
    f, model = run_files(dr), model_uri()
    raw, report, features, trained = f["raw"], f["report"], f["features"], f["trained"]
    c = "churn_training."
    return sorted(
        [
            (c + "ingest", "ingest", -1, 1, "failed", (), ()),
            (c + "ingest", "ingest", -1, 2, "success", (), (raw,)),
            (c + "validate", "validate", -1, 1, "success", (raw,), (report,)),
            (c + "featurize", "featurize", -1, 1, "success", tuple(sorted((raw, report))), (features,)),
            (c + "train", "train", -1, 1, "success", (features,), tuple(sorted((trained, model)))),
            (
                c + "evaluate",
                "evaluate",
                -1,
                1,
                "success",
                tuple(sorted((trained, features))),
                (f["metrics"],),
            ),
            (
                c + "publish",
                "publish",
                -1,
                1,
                "success",
                tuple(sorted((trained, f["metrics"]))),
                (f["registry"],),
            ),
        ]
    )


def prediction_rows(dr, training_dr, listener: bool = True) -> list:
    """The runs of a batch-predict DAG run that scored the model of ``training_dr``; ``pick_model`` (a
    plain ``@task``) is logged by the listener only."""
    f, trained = run_files(dr), run_files(training_dr)["trained"]
    c = "churn_batch_predict."
    rows = [(c + "pick_model", "pick_model", -1, 1, "success", (model_uri(),), ())] if listener else []
    rows += [(c + "fetch_batch", "fetch_batch", i, 1, "success", (), (f["batch"][i],)) for i in range(3)]
    rows += [
        (c + "score", "score", i, 1, "success", tuple(sorted((f["batch"][i], trained))), (f["scores"][i],))
        for i in range(3)
    ]
    merged = tuple(sorted((f["merged"], predictions_uri())))
    rows.append((c + "merge_predictions", "merge_predictions", -1, 1, "success", tuple(f["scores"]), merged))
    return sorted(rows)


def report_rows(dr) -> list:
    d = data_dir()
    return [
        ("churn_report.notify", "notify", -1, 1, "success", (), ()),
        (
            "churn_report.summarize",
            "summarize",
            -1,
            1,
            "success",
            (predictions_uri(),),
            (f"{d}/reports/churn_summary.json",),
        ),
    ]


def run_pipeline(dags) -> dict:
    runs = {
        dag_id: run_dag(dags, dag_id) for dag_id in ("churn_training", "churn_batch_predict", "churn_report")
    }
    assert {dag_id: dr.state for dag_id, dr in runs.items()} == dict.fromkeys(runs, "success")
    return runs


def by_task(store, dr, task_id, try_number=1, map_index=-1):
    (run,) = [
        r
        for r in store.get_runs_for_dag_run(dr.dag_id, dr.run_id, task_id)
        if (r.external.try_number, r.external.map_index) == (try_number, map_index)
    ]
    return store.get_component_run_information(run.id)


@pytest.mark.timeout(300)
def test_the_pipeline_twice_logs_exact_versioned_lineage(dags, lineage_store, trace_all):
    store = lineage_store
    predictions = predictions_uri()
    first = run_pipeline(dags)
    trace_first = store.trace(predictions)
    second = run_pipeline(dags)

    # Exact rows: components, rendered inputs/outputs, identity, the failed try and its retry, the mapped
    # runs; the untraced report DAG through the listener; nothing logged twice.
    for runs in (first, second):
        assert runs_of(store, runs["churn_training"]) == training_rows(runs["churn_training"])
        assert runs_of(store, runs["churn_batch_predict"]) == prediction_rows(
            runs["churn_batch_predict"], runs["churn_training"]
        )
        assert runs_of(store, runs["churn_report"]) == report_rows(runs["churn_report"])
    assert len(store.get_recent_runs(100)) == 2 * (7 + 8 + 2)

    training = second["churn_training"]
    failed = by_task(store, training, "ingest", try_number=1)
    assert failed.error == "ConnectionError: customer export not ready yet (simulated: the retry succeeds)"
    assert failed.external.url == ti_url("churn_training", training.run_id, "ingest", 1)
    retry = by_task(store, training, "ingest", try_number=2)
    assert (retry.status, retry.error, retry.external.url) == (
        "success",
        None,
        ti_url("churn_training", training.run_id, "ingest", 2),
    )
    score = by_task(store, second["churn_batch_predict"], "score", map_index=2)
    assert score.external.url == ti_url(
        "churn_batch_predict", second["churn_batch_predict"].run_id, "score", 1, 2
    )

    # Tags: the dag_id, default_args' mltrace_tags, and the task's own.
    assert set(by_task(store, training, "train").component_tags) == {"churn_training", "churn", "model"}
    assert set(by_task(store, training, "validate").component_tags) == {"churn_training", "churn"}

    # Versions: every local file is pinned to its content, and the scores read the model train wrote.
    model = model_path = model_uri()
    train_1, train_2 = by_task(store, first["churn_training"], "train"), by_task(store, training, "train")
    assert dict(train_2.output_versions)[model] == content_version(model_path)
    assert dict(train_1.output_versions)[model] != dict(train_2.output_versions)[model]
    trained = run_files(training)["trained"]
    assert dict(train_2.output_versions)[trained] == content_version(trained)
    assert dict(score.input_versions)[trained] == content_version(trained)
    merge = by_task(store, second["churn_batch_predict"], "merge_predictions")
    merged = run_files(second["churn_batch_predict"])["merged"]
    assert dict(merge.output_versions)[predictions] == content_version(
        f"{data_dir()}/predictions/churn_scores.csv"
    )
    assert dict(merge.output_versions)[merged] == content_version(merged)

    # The trace of the predictions follows the training run of its own round, and only that one.
    def traced_runs(trace):
        return {(n.run.external.dag_id, n.run.external.run_id, n.run.external.task_id) for n in trace.nodes}

    for trace, runs in (
        (trace_first, first),
        (store.trace(predictions), second),
        (store.trace(run_files(first["churn_batch_predict"])["merged"]), first),  # each round's own file
        (store.trace(run_files(second["churn_batch_predict"])["merged"]), second),
    ):
        got = traced_runs(trace)
        assert {(d, r) for d, r, _ in got} == {
            ("churn_batch_predict", runs["churn_batch_predict"].run_id),
            ("churn_training", runs["churn_training"].run_id),
        }
        assert {t for _, _, t in got} == {
            "merge_predictions",
            "score",
            "fetch_batch",
            "train",
            "featurize",
            "validate",
            "ingest",
        }
        trains = [n.run for n in trace.nodes if n.run.component == "churn_training.train"]
        assert [t.external.run_id for t in trains] == [runs["churn_training"].run_id]
    # ...and the listener-logged summary continues the same chain.
    summary = store.trace(f"file://{data_dir()}/reports/churn_summary.json")  # any spelling of the file
    assert [n.run.component for n in summary.nodes[:2]] == [
        "churn_report.summarize",
        "churn_batch_predict.merge_predictions",
    ]
    assert train_2.id in {n.run.id for n in summary.nodes} and train_1.id not in {
        n.run.id for n in summary.nodes
    }

    # `mltrace inspect --json` shows the Airflow identity and the error.
    out = CliRunner().invoke(cli, ["--db-uri", store.uri, "--json", "inspect", str(failed.id)])
    assert out.exit_code == 0, out.output
    shown = json.loads(out.output)
    assert {k: v for k, v in shown["external"].items() if not k.startswith("openlineage_")} == {
        "dag_id": "churn_training",
        "run_id": training.run_id,
        "task_id": "ingest",
        "try_number": 1,
        "map_index": -1,
        "url": ti_url("churn_training", training.run_id, "ingest", 1),
    }
    assert shown["status"] == "failed" and shown["error"].startswith("ConnectionError: customer export")
