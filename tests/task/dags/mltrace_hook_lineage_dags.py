"""DAGs whose tasks declare no lineage at all: their hooks report it (hook-level lineage, issue 11 item 7).

``mltrace_hook_files``: an untraced PythonOperator writes through ``ObjectStoragePath``, a traced one reads
that file and writes another, and a last task touches nothing (it must get none of the others' files:
under ``dag.test()`` one process runs them all, and Airflow's collector is never reset).
``mltrace_hook_sql``: ``SQLExecuteQueryOperator`` on the PostgreSQL connection ``mltrace_warehouse``.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, ObjectStoragePath

from mltrace_airflow.operators import TracedPythonOperator

START = datetime(2025, 1, 1)


def folder(run_id: str) -> ObjectStoragePath:
    safe = "".join(c if c.isalnum() else "_" for c in run_id)
    return ObjectStoragePath(
        f"file://{os.path.realpath(os.environ['MLTRACE_EXAMPLE_DATA'])}/test/hooks/{safe}"
    )


def extract(run: str) -> None:
    base = folder(run)
    base.mkdir(parents=True, exist_ok=True)
    with (base / "raw.csv").open("w") as fh:
        fh.write("id,amount\n1,10\n")


def transform(run: str) -> None:
    base = folder(run)
    with (base / "raw.csv").open("r") as fh:
        rows = fh.read()
    with (base / "clean.csv").open("w") as fh:
        fh.write(rows.upper())


def nothing() -> None:
    return None


with DAG("mltrace_hook_files", schedule=None, start_date=START, catchup=False):
    first = PythonOperator(task_id="extract", python_callable=extract, op_args=["{{ run_id }}"])
    second = TracedPythonOperator(task_id="transform", python_callable=transform, op_args=["{{ run_id }}"])
    third = PythonOperator(task_id="report", python_callable=nothing)
    first >> second >> third


with DAG("mltrace_hook_sql", schedule=None, start_date=START, catchup=False):
    load = SQLExecuteQueryOperator(
        task_id="load",
        conn_id="mltrace_warehouse",
        sql=[
            "CREATE TABLE IF NOT EXISTS orders (id INT, customer_id INT, amount INT)",
            "CREATE TABLE IF NOT EXISTS customers (id INT, region TEXT)",
            "CREATE TABLE IF NOT EXISTS totals (region TEXT, amount INT)",
            "INSERT INTO totals SELECT c.region, SUM(o.amount) FROM orders o JOIN customers c "
            "ON o.customer_id = c.id GROUP BY c.region",
        ],
    )
    summarize = SQLExecuteQueryOperator(
        task_id="summarize",
        conn_id="mltrace_warehouse",
        sql="DROP TABLE IF EXISTS report; CREATE TABLE report AS SELECT t.region, t.amount FROM totals t "
        "JOIN customers c ON c.region = t.region",
        split_statements=True,
    )
    load >> summarize
