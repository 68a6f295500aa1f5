"""A traced pipeline for the OpenLineage tests: declared, templated, Asset and run-time pointers, content
versions, a retried try and a mapped task -- everything whose pointers and run ids must reach an
OpenLineage catalogue exactly as mltrace stored them."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, Asset

from mltrace_airflow.operators import TracedPythonOperator, current_run

OUT = str(Path(os.environ["MLTRACE_EXAMPLE_DATA"]) / "test" / "ol")
RAW = Asset(name="ol_raw", uri="s3://bucket/raw/customers.csv")


def produce(path: str) -> None:
    """Writes the declared output and one more file it names at run time."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("features\n")
    extra = Path(path).with_suffix(".stats")
    extra.write_text("rows=1\n")
    current_run().add_output(str(extra))
    current_run().add_input("warehouse.customers", version="snapshot-7")


def retried(ti, path: str) -> None:
    if ti.try_number == 1:
        raise RuntimeError("first try fails")
    Path(path).write_text("model\n")


def shard(n: int) -> None:
    current_run().add_output(f"s3://bucket/shards/{n}.parquet")


with DAG("mltrace_openlineage", schedule=None, start_date=datetime(2025, 1, 1), catchup=False):
    features = TracedPythonOperator(
        task_id="features",
        python_callable=produce,
        op_kwargs={"path": OUT + "/features_{{ ds_nodash }}.csv"},
        inputs=["s3://bucket/raw/{{ ds }}.csv", RAW],
        outputs=OUT + "/features_{{ ds_nodash }}.csv",
        mltrace_hash_files=True,
    )
    train = TracedPythonOperator(
        task_id="train",
        python_callable=retried,
        op_kwargs={"path": OUT + "/model.pkl"},
        inputs=OUT + "/features_{{ ds_nodash }}.csv",
        outputs=OUT + "/model.pkl",
        retries=1,
        retry_delay=timedelta(0),
    )
    shards = TracedPythonOperator.partial(
        task_id="shard", python_callable=shard, inputs=OUT + "/model.pkl"
    ).expand(op_args=[[0], [1]])
    features >> train >> shards
