"""Lineage gates for the task tests: a hard gate, a soft one, the decorator and the sensor, each in front
of a ``publish`` task. The output checked comes from the run's conf (``params.output``)."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

from mltrace_airflow.operators import LineageCheckOperator, LineageCheckSensor, lineage_check

START = datetime(2025, 1, 1)
PARAMS = {"output": "model.pkl"}

with DAG("mltrace_gate", schedule=None, start_date=START, catchup=False, params=PARAMS):
    gate = LineageCheckOperator(
        task_id="gate", output="{{ params.output }}", require_components=["evaluate"], max_input_age="30d"
    )
    gate >> EmptyOperator(task_id="publish")

with DAG("mltrace_gate_soft", schedule=None, start_date=START, catchup=False, params=PARAMS):
    gate = LineageCheckOperator(task_id="gate", output="{{ params.output }}", soft_fail=True)
    gate >> EmptyOperator(task_id="publish")


@lineage_check(require_components="train")
def model_to_check(name: str) -> str:
    return name


with DAG("mltrace_gate_decorated", schedule=None, start_date=START, catchup=False, params=PARAMS):
    model_to_check("{{ params.output }}") >> EmptyOperator(task_id="publish")

with DAG("mltrace_gate_sensor", schedule=None, start_date=START, catchup=False, params=PARAMS):
    wait = LineageCheckSensor(
        task_id="wait", output="{{ params.output }}", mode="poke", poke_interval=0.2, timeout=1
    )
    wait >> EmptyOperator(task_id="publish")
