"""Traced operators: any operator, plus one run per task try in the mltrace store.

``traced(OperatorClass)`` returns a subclass that wraps ``execute`` (and ``resume_execution``, for
deferrable operators): the try's declared inputs are collected (and optionally versioned) before the
operator runs, and its run is written, with outputs on success or the error on failure, before the try
ends -- with what the try's hooks reported to Airflow's hook-lineage collector meanwhile (``ObjectStoragePath``
reads and writes, S3/GCS transfers, SQL hooks' tables; :mod:`mltrace_airflow.task.hooklineage`). The task's own result, exception and timing are untouched: tracing errors are warnings (unless
``[mltrace] strict``), and ``[mltrace] disabled`` turns the wrapper into a plain call.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from datetime import datetime, timezone
from functools import cache
from typing import Any

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk.exceptions import (
    AirflowRescheduleException,
    AirflowSkipException,
    DagRunTriggerException,
    DownstreamTasksSkipped,
    TaskAwaitingInput,
    TaskDeferred,
)

from mltrace_airflow import config
from mltrace_airflow.task import flagcheck, hooklineage, tasktry
from mltrace_airflow.task.delivery import deliver_try, guard
from mltrace_airflow.task.tasktry import RunHandle

TRACE_TEMPLATE_FIELDS: tuple[str, ...] = ("inputs", "outputs")
TRACING_ARGUMENTS = (
    "component",
    "inputs",
    "outputs",
    "mltrace_tags",
    "mltrace_conn_id",
    "mltrace_hash_files",
)
CONTEXT_KEY = "mltrace"
_ACTIVE = "mltrace_tracing"  # context key: this try's run is being traced by an enclosing call
# The try goes on later (deferred, rescheduled, awaiting input) or did not run (skipped): no run yet.
_NOT_ENDED = (TaskDeferred, TaskAwaitingInput, AirflowRescheduleException, AirflowSkipException)
# Raised by operators that succeeded and signal something to the scheduler.
_SUCCEEDED = (DownstreamTasksSkipped, DagRunTriggerException)


def current_run() -> RunHandle:
    """The run handle of the traced task try running now (``get_current_context()["mltrace"]``).
    Outside a traced task (or with tracing disabled) a handle that is logged nowhere, so task code
    stays runnable untraced."""
    from airflow.sdk import get_current_context

    try:
        handle = get_current_context().get(CONTEXT_KEY)
    except Exception:  # no task is running: a unit test of the callable, say
        handle = None
    return handle if isinstance(handle, RunHandle) else RunHandle("untraced")


class _Try:
    """What a traced operator knows about the try in progress."""

    def __init__(self, task: Any, ti: Any) -> None:
        self.ti = ti
        self.component = task.component or tasktry.component_name(task)
        self.hash_files = bool(task.mltrace_hash_files)
        self.handle = RunHandle(self.component, hash_files=self.hash_files)
        inputs = tasktry.as_pointers(task.inputs, "input") + tasktry.lineage_pointers(task.inlets)
        self.inputs = tasktry.with_versions(inputs) if self.hash_files else inputs
        self.declared_outputs = tasktry.as_pointers(task.outputs, "output") + tasktry.lineage_pointers(
            task.outlets
        )
        self.start = getattr(ti, "start_date", None) or datetime.now(timezone.utc)
        self.flag_mode = "ignore"  # [mltrace] on_flagged_input, read when the check runs
        self.flag_notes = ""  # the flags the inputs known at the start read, for the run's notes
        # What the hook-lineage collector held when the try started: only what is reported after is its.
        self.hook_baseline = None
        with guard("noting the hook lineage collected before the try"):
            if config.hook_lineage():
                self.hook_baseline = hooklineage.snapshot()


class TracingMixin:
    """Put first in the bases, before the operator class; the concrete class defines ``__init__``
    (see :func:`traced`). Arguments (all optional):

    - ``component``: the component name, default ``"<dag_id>.<task_id>"``.
    - ``inputs`` / ``outputs``: pointer names (paths, URIs, table names), Assets or IOPointers, one or
      a list, Jinja-templated (``"data/{{ ds }}.csv"`` is logged rendered) or an XComArg.
      Declared ``inlets`` / ``outlets`` Assets count too, named by their URI.
    - ``mltrace_tags``: component tags, besides the dag_id.
    - ``mltrace_conn_id``: the store's connection, default ``[mltrace] conn_id`` / ``mltrace_default``.
    - ``mltrace_hash_files``: version each local file pointer by its content (sha256).
    """

    template_fields: Sequence[str]
    task_id: str  # BaseOperator's, which every class this mixes into derives from
    _mltrace_traced = True

    def _init_tracing(self, component, inputs, outputs, mltrace_tags, mltrace_conn_id, mltrace_hash_files):
        # After BaseOperator.__init__: its __setattr__ needs its init state.
        self.component = component
        self.inputs = inputs
        self.outputs = outputs
        self.mltrace_tags = [mltrace_tags] if isinstance(mltrace_tags, str) else list(mltrace_tags or ())
        self.mltrace_conn_id = mltrace_conn_id
        self.mltrace_hash_files = mltrace_hash_files

    def execute(self, context):
        return self._traced_call(super().execute, context)

    # -- OpenLineage: called by the OpenLineage provider (only where it is installed) -----------------
    def get_openlineage_facets_on_start(self):
        """The try's declared pointers, for the provider's START event (see ``ollineage``)."""
        return self._openlineage("on_start", "get_openlineage_facets_on_start")

    def get_openlineage_facets_on_complete(self, task_instance):
        """The pointers mltrace stored for the try, for the provider's COMPLETE event."""
        return self._openlineage("on_end", "get_openlineage_facets_on_complete", task_instance)

    def get_openlineage_facets_on_failure(self, task_instance):
        """The failed try's inputs (no outputs, as mltrace stores it), for the provider's FAIL event."""
        return self._openlineage("on_end", "get_openlineage_facets_on_failure", task_instance)

    def _openlineage(self, view: str, method: str, *args):
        own = getattr(super(), method, None)
        own_lineage = own(*args) if callable(own) else None
        with guard(f"describing {self.task_id} to OpenLineage"):
            from mltrace_airflow.task import ollineage

            return getattr(ollineage, view)(self, own_lineage)
        return own_lineage

    def resume_execution(self, next_method, next_kwargs, context):
        return self._traced_call(super().resume_execution, context, next_method, next_kwargs)

    def _traced_call(self, call, context, *args):
        if isinstance(context.get(CONTEXT_KEY), RunHandle) and context.get(_ACTIVE):
            # Already traced further up (an operator resuming into its own execute): one run per try.
            return call(*args, context) if args else call(context)
        # Task code may use the handle whatever happens to tracing: a detached one until tracing starts.
        context[CONTEXT_KEY] = RunHandle(self.component or tasktry.component_name(self))
        if not _enabled():
            return call(*args, context) if args else call(context)
        context[_ACTIVE] = True
        self._mltrace_done = None  # (record, run id) of this try once built: what OpenLineage is told
        current = None
        with guard(f"collecting the inputs of {self.task_id}", strict=config.strict()):
            current = _Try(self, context["ti"])
            context[CONTEXT_KEY] = current.handle
        if current is not None:
            stop = self._check_flags(current)
            if stop is not None:
                self._finish(current, stop)
                raise stop
        try:
            # resume_execution(next_method, next_kwargs, context); execute(context)
            result = call(*args, context) if args else call(context)
        except _NOT_ENDED:
            raise
        except _SUCCEEDED:
            self._finish(current, None)
            raise
        except BaseException as exc:
            self._finish(current, exc)
            raise
        self._finish(current, None)
        return result

    def _check_flags(self, current: _Try) -> BaseException | None:
        """``[mltrace] on_flagged_input`` for the inputs known before the try runs: the error to fail it
        with (``fail``), else ``None`` after warning (``warn``); see :mod:`.flagcheck`."""
        current.flag_mode = flagcheck.mode()
        found = flagcheck.flags_on(current.inputs, self.mltrace_conn_id, current.flag_mode)
        if not found:
            return None
        current.flag_notes = flagcheck.notes(found)
        if current.flag_mode == "fail":
            return flagcheck.error(f"task {self.task_id}", found)
        flagcheck.warn(f"task {self.task_id}", found)
        return None

    def _finish(self, current: _Try | None, error: BaseException | None) -> None:
        if current is None:
            return
        # A failing task fails with its own error, never with a lineage one.
        strict = error is None and config.strict()
        with guard(f"logging the run of {self.task_id}", strict=strict):
            handle = current.handle
            hook_in, hook_out = hooklineage.of_try(current.hook_baseline)
            outputs = current.declared_outputs + handle.outputs + hook_out
            notes = [handle.notes, current.flag_notes]
            later = handle.inputs + hook_in  # read at run time: checked now, for the warning only
            if later and error is None:
                found = flagcheck.flags_on(later, self.mltrace_conn_id, current.flag_mode)
                flagcheck.warn(f"task {self.task_id}", found)
                notes.append(flagcheck.notes(found))
            record = tasktry.build_record(
                current.ti,
                component=current.component,
                tags=self.mltrace_tags,
                inputs=current.inputs + handle.inputs + hook_in,
                outputs=tasktry.with_versions(outputs) if current.hash_files else outputs,
                start=current.start,
                error=error,
                notes="\n".join(n for n in notes if n),
                code_version=handle.code_version,
            )
            self._mltrace_done = (record, None)
            run_id = deliver_try(record, self.mltrace_conn_id, strict=strict, by_operator=True)
            self._mltrace_done = (record, run_id)


def _enabled() -> bool:
    with guard("reading [mltrace] disabled"):
        return not config.disabled()
    return False


@cache
def traced(operator_class: type) -> type:
    """A traced version of ``operator_class``: same arguments, plus ``component``, ``inputs``,
    ``outputs``, ``mltrace_tags``, ``mltrace_conn_id`` and ``mltrace_hash_files`` (see
    :class:`TracingMixin`). ``inputs`` and ``outputs`` are templated fields."""

    init = operator_class.__init__  # type: ignore[misc]  # the class's own signature, not an instance's
    own = set(inspect.signature(init).parameters) & set(TRACING_ARGUMENTS)
    if own:
        raise TypeError(
            f"{operator_class.__name__} has its own {', '.join(sorted(own))} argument(s): a traced version "
            "would take them over; declare its lineage with inlets/outlets and the listener instead"
        )

    own_fields: Sequence[str] = getattr(operator_class, "template_fields", ())

    class Traced(TracingMixin, operator_class):  # type: ignore[misc]
        template_fields: Sequence[str] = (
            *own_fields,
            *(f for f in TRACE_TEMPLATE_FIELDS if f not in own_fields),
        )

        # BaseOperatorMeta applies defaults only to an __init__ the class itself defines, and
        # .partial() accepts only the keywords named here: hence one per class, with every argument.
        def __init__(
            self,
            *,
            component: str | None = None,
            inputs: Any = None,
            outputs: Any = None,
            mltrace_tags: Sequence[str] | str | None = None,
            mltrace_conn_id: str | None = None,
            mltrace_hash_files: bool = False,
            **kwargs: Any,
        ) -> None:
            super().__init__(**kwargs)
            self._init_tracing(component, inputs, outputs, mltrace_tags, mltrace_conn_id, mltrace_hash_files)

    name = f"Traced{operator_class.__name__}"
    Traced.__name__ = Traced.__qualname__ = name
    Traced.__module__ = __name__
    Traced.__doc__ = f"{operator_class.__name__}, traced into mltrace. {TracingMixin.__doc__}"
    return Traced


TracedPythonOperator = traced(PythonOperator)
TracedBashOperator = traced(BashOperator)
