"""A lineage gate in front of "publish" (the end-to-end test of issue 14 runs it beside the example DAGs):
the model's metrics are published only if their whole lineage is healthy, evaluation included."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from mltrace_airflow.operators import LineageCheckOperator, TracedBashOperator

with DAG(
    dag_id="churn_promote",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={"output": ""},
    tags=["mltrace-example"],
):
    gate = LineageCheckOperator(task_id="gate", output="{{ params.output }}", require_components=["evaluate"])
    publish = TracedBashOperator(
        task_id="publish", bash_command='echo "promoting {{ params.output }}"', inputs=["{{ params.output }}"]
    )
    gate >> publish
