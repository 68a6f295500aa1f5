"""Churn model training, traced into mltrace: ingest -> validate -> featurize -> train -> evaluate -> publish.

Every task try is one mltrace run. File names are Jinja templates, one directory per DAG run
(``{{ run_id }}``: runs may overlap, and a run triggered without a logical date has no ``{{ ds }}``),
logged rendered; every local file is versioned by its content hash (``mltrace_hash_files`` in
``default_args``), so a trace names the exact bytes each step read. The export behind ``ingest`` is flaky
on purpose: its first try fails and the retry succeeds, and both tries are in the store. ``train`` writes
the run's own model, then publishes it as the ``churn_model`` Asset (the latest model), which schedules
``churn_batch_predict``; the Asset event names the run's model file, so a batch scores exactly that one.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta

import ml_steps
from airflow.sdk import DAG
from churn_assets import DATA, MODEL, MODEL_PATH, RUN

from mltrace_airflow.operators import TracedBashOperator, TracedPythonOperator, traced_task

RAW = f"{DATA}/raw/{RUN}/customers.csv"
VALIDATION = f"{DATA}/reports/{RUN}/validation.json"
FEATURES = f"{DATA}/features/{RUN}/customers.json"
TRAINED = f"{DATA}/models/{RUN}/churn.json"  # this run's model; MODEL_PATH is the latest published one
METRICS = f"{DATA}/reports/{RUN}/metrics.json"
REGISTRY = f"{DATA}/registry/{RUN}/churn.json"


def export_customers(raw_path: str, run_id: str, ti, params) -> str:
    """Pull the day's customer export (synthetic here; seeded by the DAG run, so every run differs)."""
    if params["flaky_export"] and ti.try_number == 1:
        raise ConnectionError("customer export not ready yet (simulated: the retry succeeds)")
    return ml_steps.ingest(raw_path, seed=zlib.crc32(run_id.encode()))


def train_model(features_path: str, model_path: str, outlet_events, mltrace=None) -> float:
    model = ml_steps.train(features_path, model_path)
    mltrace.notes = "weights=" + ", ".join(f"{w:.3f}" for w in model["weights"])
    ml_steps.publish(model_path, MODEL_PATH)
    # The version published, not what the file holds when the try ends: another run may publish meanwhile.
    mltrace.add_output(MODEL, ml_steps.content_version(model_path))
    outlet_events[MODEL].extra = {"model_path": model_path}  # which model a triggered batch scores
    return model["weights"][0]


def evaluate_model(model_path: str, features_path: str, metrics_path: str, mltrace=None) -> dict:
    metrics = ml_steps.evaluate(model_path, features_path, metrics_path)
    mltrace.notes = f"accuracy={metrics['accuracy']} auc={metrics['auc']}"
    return metrics


@traced_task(inputs=[RAW, VALIDATION], outputs=[FEATURES])
def featurize(raw_path: str, features_path: str) -> str:
    return ml_steps.featurize(raw_path, features_path)


with DAG(
    dag_id="churn_training",
    description="Train the churn model on the day's customer export (traced into mltrace)",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={"flaky_export": True},
    default_args={"mltrace_hash_files": True, "mltrace_tags": ["churn"]},
    tags=["mltrace-example"],
):
    ingest = TracedPythonOperator(
        task_id="ingest",
        python_callable=export_customers,
        op_kwargs={"raw_path": RAW},
        outputs=[RAW],
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
    validate = TracedPythonOperator(
        task_id="validate",
        python_callable=ml_steps.validate,
        op_kwargs={"raw_path": RAW, "report_path": VALIDATION},
        inputs=[RAW],
        outputs=[VALIDATION],
    )
    features = featurize(RAW, FEATURES)
    train = TracedPythonOperator(
        task_id="train",
        python_callable=train_model,
        op_kwargs={"features_path": FEATURES, "model_path": TRAINED},
        inputs=[FEATURES],
        outputs=[TRAINED],
        outlets=[MODEL],
        mltrace_tags=["churn", "model"],
    )
    evaluate = TracedPythonOperator(
        task_id="evaluate",
        python_callable=evaluate_model,
        op_kwargs={"model_path": TRAINED, "features_path": FEATURES, "metrics_path": METRICS},
        inputs=[TRAINED, FEATURES],
        outputs=[METRICS],
    )
    publish = TracedBashOperator(
        task_id="publish",
        bash_command=f'mkdir -p "$(dirname "{REGISTRY}")" && cp "{TRAINED}" "{REGISTRY}"',
        inputs=[TRAINED, METRICS],
        outputs=[REGISTRY],
    )
    ingest >> validate >> features >> train >> evaluate >> publish
