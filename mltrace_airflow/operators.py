"""Traced operators: one mltrace run per Airflow task try, with its inputs, outputs and identity.

from mltrace_airflow.operators import TracedPythonOperator, TracedBashOperator, traced, traced_task
from mltrace_airflow.operators import LineageCheckOperator, LineageCheckSensor, lineage_check  # gates
"""

from mltrace_airflow.task.check import (
    LineageCheckFailed,
    LineageCheckOperator,
    LineageCheckSensor,
    lineage_check,
)
from mltrace_airflow.task.decorator import traced_task
from mltrace_airflow.task.delivery import LineageError
from mltrace_airflow.task.operators import (
    TracedBashOperator,
    TracedPythonOperator,
    TracingMixin,
    current_run,
    traced,
)
from mltrace_airflow.task.tasktry import RunHandle

__all__ = [
    "LineageCheckFailed",
    "LineageCheckOperator",
    "LineageCheckSensor",
    "LineageError",
    "RunHandle",
    "TracedBashOperator",
    "TracedPythonOperator",
    "TracingMixin",
    "current_run",
    "lineage_check",
    "traced",
    "traced_task",
]
