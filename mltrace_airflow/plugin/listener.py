"""Trace every task, no DAG changes: an Airflow listener, registered by the mltrace plugin.

With ``[mltrace] trace_all_tasks = True`` (``AIRFLOW__MLTRACE__TRACE_ALL_TASKS=True``) every task try
that ends in a task process (success, or failure, including a failure that will be retried) becomes
one run, component ``<dag_id>.<task_id>``, with the task's ``inlets`` as inputs and its ``outlets``
as outputs (Assets, named by their URI). It goes through the same code as the traced operators
(:mod:`mltrace_airflow.operators.tasktry`, :func:`~mltrace_airflow.operators.delivery.deliver_try`),
so the same try is the same run: a try a traced operator already logged is skipped.

Only task processes are traced: state changes made elsewhere (a task marked failed in the UI, a
zombie reaped by the scheduler) carry no task object and no inlets, and a lineage write must never
stall the scheduler or the API server.

The module imports nothing heavy and holds no state besides Airflow's own, so the plugin can list it
(``listeners=[mltrace_airflow.plugin.listener]``) and tests can register it directly.
"""

from __future__ import annotations

import sys
from typing import Any

from airflow.listeners import hookimpl

from mltrace_airflow import config
from mltrace_airflow.operators import tasktry
from mltrace_airflow.operators.delivery import deliver_try, guard
from mltrace_airflow.operators.tracing import handled_by_operator


@hookimpl
def on_task_instance_success(previous_state: Any, task_instance: Any) -> None:
    _log_try(task_instance, error=None)


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any, error: Any) -> None:
    _log_try(task_instance, error=error if error is not None else "task try failed")


def _log_try(ti: Any, error: Any) -> None:
    with guard("tracing a task try (trace_all_tasks)"):
        if config.disabled() or not config.trace_all_tasks() or not _in_task_process(ti):
            return
        if handled_by_operator(tasktry.try_key(ti)):
            return  # a traced operator logged this try, with more than inlets/outlets
        task = ti.task
        record = tasktry.build_record(
            ti,
            component=tasktry.component_name(task),
            inputs=tasktry.lineage_pointers(task.inlets),
            outputs=tasktry.lineage_pointers(task.outlets),
            end=getattr(ti, "end_date", None),
            error=error,
        )
        deliver_try(record, strict=False)  # a listener cannot fail a task: strict is for operators


def _in_task_process(ti: Any) -> bool:
    # A task process has the task runner loaded; other processes are not made to import it here.
    runner = sys.modules.get("airflow.sdk.execution_time.task_runner")
    return (
        runner is not None
        and isinstance(ti, runner.RuntimeTaskInstance)
        and getattr(ti, "task", None) is not None
    )
