"""Small DAGs for the integration tests' edge cases (a second DAG bundle, so the examples stay clean).

Files go under ``$MLTRACE_EXAMPLE_DATA/test``; every DAG here is run with ``dag.test()``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from airflow.sdk import DAG, Asset

from mltrace_airflow.operators import TracedPythonOperator, current_run, traced

OUT = str(Path(os.environ["MLTRACE_EXAMPLE_DATA"]) / "test")
START = datetime(2025, 1, 1)
RAW = Asset(name="test_raw", uri="s3://bucket/raw/customers.csv")
TABLE = Asset(name="test_table", uri="postgres://warehouse/analytics/public/churn_features")


def write(path: str) -> str:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("rows\n")
    return path


def write_from_context(path: str) -> str:
    current_run().add_output(write(path))
    return path


def fail_on_first_try(ti) -> None:
    if ti.try_number == 1:
        raise RuntimeError("first try fails")


def always_fail() -> None:
    raise ValueError("bad data in batch 7")


with DAG("mltrace_one_task", schedule=None, start_date=START, catchup=False):
    TracedPythonOperator(
        task_id="write",
        python_callable=write_from_context,
        op_kwargs={"path": OUT + "/one/{{ run_id | replace(':', '_') }}.txt"},
        inputs=["s3://bucket/config.yaml"],
    )


with DAG("mltrace_edge_cases", schedule=None, start_date=START, catchup=False):
    traced(EmptyOperator)(
        task_id="declare",
        component="warehouse.sync",
        inputs=["warehouse.customers"],
        outlets=[TABLE],
        mltrace_tags="warehouse",
    )
    TracedPythonOperator(
        task_id="bad_pointer",  # a name mltrace refuses: the task still succeeds, untraced
        python_callable=write,
        op_args=[OUT + "/edge/bad.txt"],
        outputs=["line\nbreak"],
    )
    traced(TimeDeltaSensor)(
        task_id="wait",
        delta=timedelta(seconds=1),
        deferrable=True,
        inputs=["clock"],
    )


with DAG("mltrace_failures", schedule=None, start_date=START, catchup=False):
    TracedPythonOperator(task_id="traced_fail", python_callable=always_fail, inputs=["batch_7.csv"])
    PythonOperator(task_id="plain_fail", python_callable=always_fail)


with DAG("mltrace_untraced", schedule=None, start_date=START, catchup=False):
    load = PythonOperator(
        task_id="load",
        python_callable=fail_on_first_try,
        inlets=[RAW],
        outlets=[TABLE],
        retries=1,
        retry_delay=timedelta(0),
    )
    shards = BashOperator.partial(
        task_id="shard", outlets=[Asset(name="test_shards", uri="s3://bucket/shards")]
    ).expand(bash_command=["echo 0", "echo 1"])
    traced_step = TracedPythonOperator(
        task_id="traced_step", python_callable=write, op_args=[OUT + "/untraced/step.txt"], inlets=[TABLE]
    )
    load >> shards >> traced_step


FEATURES = "s3://bucket/features.csv"


def score(marker: str) -> None:
    """Scores, and leaves a file behind: whether it exists says whether the task's code ran."""
    write(marker)
    current_run().add_output("s3://bucket/scores.csv")


with DAG("mltrace_flagged_inputs", schedule=None, start_date=START, catchup=False):
    TracedPythonOperator(
        task_id="score",
        python_callable=score,
        op_args=[OUT + "/flagged/{{ run_id | replace(':', '_') }}.ran"],
        inputs=[FEATURES],
    )
    PythonOperator(task_id="load", python_callable=lambda: None, inlets=[RAW])  # the listener's
