"""The DAG the browser test runs: plain operators traced by the mltrace listener (trace_all_tasks), so
every task try becomes a run with an Airflow identity. ``score`` is mapped, for the {MAP_INDEX} tab."""

from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset

RAW = Asset("s3://bucket/raw%20data/customers.csv")
MODEL = Asset("file:///models/churn.json")
SCORES = Asset("file:///scores/churn.csv")


def step(*args):
    return list(args)


with DAG("mltrace_e2e", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    extract = PythonOperator(task_id="extract", python_callable=step, outlets=[RAW])
    train = PythonOperator(task_id="train", python_callable=step, inlets=[RAW], outlets=[MODEL])
    score = PythonOperator.partial(
        task_id="score", python_callable=step, inlets=[MODEL], outlets=[SCORES]
    ).expand(op_args=[[0], [1]])
    extract >> train >> score
