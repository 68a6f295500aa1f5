"""The pipeline of the OpenLineage end-to-end test (tests/reliability/test_openlineage_ingestion.py): plain
operators whose lineage only the OpenLineage provider reports (Asset inlets/outlets, a retried task, a
mapped task writing through ObjectStoragePath, SQL on PostgreSQL), and one traced operator reported by both
mltrace and the provider. Files live under ``$MLTRACE_EXAMPLE_DATA/e2e/<run>``."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset, ObjectStoragePath

from mltrace_airflow.operators import TracedPythonOperator

DATA = os.path.realpath(os.environ.get("MLTRACE_EXAMPLE_DATA", "/tmp")) + "/e2e"
RAW = f"{DATA}/raw.csv"
FEATURES = f"{DATA}/features.csv"
MODEL = f"{DATA}/model.json"
PUBLISHED = f"{DATA}/published/model.json"


def featurize(ti) -> None:
    if ti.try_number == 1:
        raise RuntimeError("the export is not there yet (the retry succeeds)")
    Path(FEATURES).write_text(Path(RAW).read_text().upper())


def shard(index: int) -> None:
    with ObjectStoragePath(f"file://{DATA}/shard-{index}.csv").open("w") as fh:
        fh.write(f"shard {index}\n")


def train() -> None:
    Path(MODEL).write_text('{"weights": [1, 2]}')


def publish() -> None:
    target = ObjectStoragePath(f"file://{PUBLISHED}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with ObjectStoragePath(f"file://{MODEL}").open("r") as src, target.open("w") as dst:
        dst.write(src.read())


with DAG(
    "ol_e2e",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    default_args={"retry_delay": timedelta(seconds=1)},
):
    ingest = BashOperator(
        task_id="ingest",
        bash_command=f"mkdir -p {DATA} && printf 'id,x\\n1,2\\n' > {RAW}",
        outlets=[Asset(uri=f"file://{RAW}")],
    )
    features = PythonOperator(
        task_id="featurize",
        python_callable=featurize,
        retries=1,
        inlets=[Asset(uri=f"file://{RAW}")],
        outlets=[Asset(uri=f"file://{FEATURES}")],
    )
    shards = PythonOperator.partial(task_id="shard", python_callable=shard).expand(op_args=[[0], [1]])
    model = TracedPythonOperator(
        task_id="train",
        python_callable=train,
        inputs=[FEATURES, f"{DATA}/shard-0.csv", f"{DATA}/shard-1.csv"],
        outputs=[MODEL],
    )
    published = PythonOperator(task_id="publish", python_callable=publish)
    load = SQLExecuteQueryOperator(
        task_id="load",
        conn_id="e2e_warehouse",
        sql=[
            "CREATE TABLE IF NOT EXISTS orders (id INT, customer_id INT, amount INT)",
            "CREATE TABLE IF NOT EXISTS customers (id INT, region TEXT)",
            "CREATE TABLE IF NOT EXISTS totals (region TEXT, amount INT)",
            "INSERT INTO totals SELECT c.region, SUM(o.amount) FROM orders o JOIN customers c "
            "ON o.customer_id = c.id GROUP BY c.region",
        ],
    )
    report = SQLExecuteQueryOperator(
        task_id="report",
        conn_id="e2e_warehouse",
        sql="CREATE TABLE report AS SELECT t.region, t.amount, c.id FROM totals t JOIN customers c "
        "ON c.region = t.region",
    )
    ingest >> features >> shards >> model >> published
    load >> report
