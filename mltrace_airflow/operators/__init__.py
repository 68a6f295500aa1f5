"""Traced operators: one mltrace run per Airflow task try, with its inputs, outputs and identity.

from mltrace_airflow.operators import TracedPythonOperator, TracedBashOperator, traced, traced_task
"""

from mltrace_airflow.operators.decorator import traced_task
from mltrace_airflow.operators.delivery import LineageError
from mltrace_airflow.operators.tasktry import RunHandle
from mltrace_airflow.operators.tracing import (
    TracedBashOperator,
    TracedPythonOperator,
    TracingMixin,
    current_run,
    traced,
)

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
