"""Trace every task, no DAG changes: an Airflow listener, registered by the mltrace plugin.

With ``[mltrace] trace_all_tasks = True`` (``AIRFLOW__MLTRACE__TRACE_ALL_TASKS=True``) every task try
that ends in a task process (success, or failure, including a failure that will be retried) becomes
one run, component ``<dag_id>.<task_id>``, with the task's ``inlets`` as inputs and its ``outlets``
as outputs (Assets, named by their URI), plus what its hooks reported during the try (hook-level
lineage, :mod:`mltrace_airflow.task.hooklineage`: the collector's state is noted when the try starts). It goes through the same code as the traced operators
(:mod:`mltrace_airflow.task.tasktry`, :func:`~mltrace_airflow.task.delivery.deliver_try`),
so the same try is the same run: a try a traced operator already logged is skipped.

Only task processes are traced: state changes made elsewhere (a task marked failed in the UI, a
zombie reaped by the scheduler) carry no task object and no inlets, and a lineage write must never
stall the scheduler or the API server.

The module imports nothing heavy and holds no state besides Airflow's own (and the collector's state
at the start of each try in progress), so the plugin can list it
(``listeners=[mltrace_airflow.task.listener]``) and tests can register it directly.
"""

from __future__ import annotations

from typing import Any

from airflow.listeners import hookimpl

from mltrace_airflow import config
from mltrace_airflow.compat import running_task_instance_class
from mltrace_airflow.task import flagcheck, hooklineage, tasktry
from mltrace_airflow.task.delivery import deliver_try, delivered_by_operator, guard

# What the hook-lineage collector held when each try started (the collector is per process, never reset).
_baselines: dict[str | None, hooklineage.Snapshot] = {}
# The flags each try in progress read (on_flagged_input), for its run's notes.
_flag_notes: dict[str | None, str] = {}


@hookimpl
def on_task_instance_running(previous_state: Any, task_instance: Any) -> None:
    with guard("noting the hook lineage collected before a try"):
        if _tracing(task_instance) and config.hook_lineage():
            _baselines[tasktry.try_key(task_instance)] = hooklineage.snapshot()
    with guard("checking a try's inlets for flags"):
        # A traced operator checks its own inputs (and can stop its try).
        if _tracing(task_instance) and not getattr(task_instance.task, "_mltrace_traced", False):
            _check_flags(task_instance)


def _check_flags(ti: Any) -> None:
    """``[mltrace] on_flagged_input`` for the inlets: a listener cannot stop a task, so ``fail`` warns too
    (use traced operators to stop one); the flags go into the try's run notes."""
    action = flagcheck.mode()
    found = flagcheck.flags_on(tasktry.lineage_pointers(ti.task.inlets), None, action)
    if found:
        what = f"task {ti.task_id}"
        flagcheck.warn(what + (" (the listener cannot stop it)" if action == "fail" else ""), found)
        _flag_notes[tasktry.try_key(ti)] = flagcheck.notes(found)


@hookimpl
def on_task_instance_success(previous_state: Any, task_instance: Any) -> None:
    _log_try(task_instance, error=None)


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any, error: Any) -> None:
    _log_try(task_instance, error=error if error is not None else "task try failed")


def _log_try(ti: Any, error: Any) -> None:
    with guard("tracing a task try (trace_all_tasks)"):
        if not _tracing(ti):
            return
        baseline = _baselines.pop(tasktry.try_key(ti), hooklineage.Snapshot())
        flag_notes = _flag_notes.pop(tasktry.try_key(ti), "")
        if delivered_by_operator(tasktry.try_key(ti)):
            return  # a traced operator logged this try, with more than inlets/outlets
        task = ti.task
        hook_in, hook_out = hooklineage.of_try(baseline) if config.hook_lineage() else ([], [])
        record = tasktry.build_record(
            ti,
            component=tasktry.component_name(task),
            inputs=tasktry.lineage_pointers(task.inlets) + hook_in,
            outputs=tasktry.lineage_pointers(task.outlets) + hook_out,
            end=getattr(ti, "end_date", None),
            error=error,
            notes=flag_notes,
        )
        deliver_try(record, strict=False)  # a listener cannot fail a task: strict is for operators


def _tracing(ti: Any) -> bool:
    return not config.disabled() and config.trace_all_tasks() and _in_task_process(ti)


def _in_task_process(ti: Any) -> bool:
    runtime_ti = running_task_instance_class()
    return runtime_ti is not None and isinstance(ti, runtime_ti) and getattr(ti, "task", None) is not None
