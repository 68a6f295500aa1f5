"""Traced operators: one mltrace run per Airflow task try, with its inputs, outputs and identity.

from mltrace_airflow.operators import TracedPythonOperator, TracedBashOperator, traced, traced_task
"""

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
    "LineageError",
    "RunHandle",
    "TracedBashOperator",
    "TracedPythonOperator",
    "TracingMixin",
    "current_run",
    "traced",
    "traced_task",
]
