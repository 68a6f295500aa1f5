"""Lineage gates: let a task go on only when the whole trace of an output is healthy.

    gate = LineageCheckOperator(task_id="gate", output="models/churn.json", require_components=["evaluate"])
    gate >> publish

The check is the core's (:mod:`mltrace_core.checks`): a flagged pointer, a failed run, a stale input, a
failed test result, an input older than ``max_input_age`` or a missing required component anywhere in
the trace of ``output`` (any address: ``NAME``, ``NAME@VERSION``, ``run:ID``; ``as_of`` for a name)
fails the task -- or, with ``soft_fail=True``, skips it and so its downstream. The decision is logged to
the task log (every reason, with its run) and is itself a run in the store: component ``<dag>.<task>``,
tagged ``mltrace-gate``, reading the output at the version checked, failed when the check failed, with
one test result per check and per reason (the run page and the task-instance tab show them).

A gate is the one place lineage may stop a pipeline: the store being unreachable fails the try (and it is
retried as usual), since a gate cannot pass without evidence. :class:`LineageCheckSensor` waits instead,
in ``reschedule`` mode, until the check passes (its decision is recorded once, when it passes or times
out). There is no trigger to defer to: the check is one short query, so a rescheduled poke is the natural
form.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from airflow.sdk import BaseOperator, BaseSensorOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from mltrace_airflow import config
from mltrace_airflow.compat import DecoratedOperator, task_decorator_factory
from mltrace_airflow.task import tasktry
from mltrace_airflow.task.delivery import deliver_try, guard
from mltrace_core import CheckResult, IOPointer
from mltrace_core.checks import GATE_TAG, input_age, required_components

log = logging.getLogger("mltrace_airflow")
# ``output`` is kept as ``output_address``: BaseOperator.output is the task's XComArg.
CHECK_TEMPLATE_FIELDS: tuple[str, ...] = ("output_address", "as_of", "max_input_age", "require_components")


class LineageCheckFailed(AirflowFailException):
    """The trace of the output checked is not fit to go on (no retry: the lineage will not change by
    retrying; fix it, then clear the gate)."""


class _Gate:
    """What the operator and the sensor share: the arguments, the check, and recording the decision."""

    task_id: str  # BaseOperator's

    def _init_gate(self, output, as_of, max_input_age, require_components, mltrace_conn_id, component):
        self.output_address = output
        self.as_of = as_of
        self.max_input_age = max_input_age
        self.require_components = require_components
        self.mltrace_conn_id = mltrace_conn_id
        self.component = component

    def _address(self) -> str:
        output = self.output_address
        if not isinstance(output, str) or not output.strip():
            raise ValueError(f"{self.task_id}: output must be an address (a name, NAME@VERSION or run:ID)")
        return output.strip()

    def _store(self):
        from mltrace_airflow.hooks.mltrace import MltraceHook

        conn_id = self.mltrace_conn_id or config.conn_id()
        return MltraceHook(mltrace_conn_id=conn_id, timeout=config.timeout()).get_store()

    def _check(self, address: str) -> CheckResult:
        return self._store().check(
            address,
            as_of=self.as_of or None,
            max_input_age=input_age(self.max_input_age),
            require_components=required_components(self.require_components),
        )

    def _record(self, context, result: CheckResult, start: datetime, skipped: bool = False) -> int | None:
        """The decision as a run of its own (delivered like a traced try's run: spooled if need be)."""
        summary = result.summary()
        with guard(f"recording the decision of {self.task_id}"):
            ti = context["ti"]
            where = result.address
            inputs = [IOPointer(where.pointer, where.version)] if where.pointer else []
            record = tasktry.build_record(
                ti,
                component=self.component or tasktry.component_name(self),
                tags=[GATE_TAG],
                inputs=inputs,
                start=start,
                failed=not result.passed,
                notes=summary
                + ("\n(soft_fail: the task and its downstream were skipped)" if skipped else ""),
            )
            if not result.passed:
                record = replace(record, error=f"lineage check failed: {len(result.reasons)} reason(s)")
            record = replace(record, tests=result.test_results())
            return deliver_try(record, self.mltrace_conn_id, strict=False, by_operator=True)
        return None


class LineageCheckOperator(_Gate, BaseOperator):
    """Fail (or, with ``soft_fail``, skip) unless the trace of ``output`` passes the lineage check.

    - ``output``: any address (``NAME``, ``NAME@VERSION``, ``run:ID``); templated.
    - ``as_of``: for a plain name, check the latest version written by then (ISO-8601 or ``2d``-style).
    - ``max_input_age``: fail if an input in the trace was written longer ago (timedelta, seconds, ``"7d"``).
    - ``require_components``: components that must be in the trace (``"evaluate"`` matches a task id).
    - ``soft_fail``: skip instead of failing (the downstream tasks are skipped by their trigger rules).
    - ``mltrace_conn_id``, ``component``: the store's connection; the decision run's component.

    Returns (pushes to XCom) the decision as ``CheckResult.to_dict()``."""

    template_fields: Sequence[str] = CHECK_TEMPLATE_FIELDS
    ui_color = "#e8d4f7"

    def __init__(
        self,
        *,
        output: str | None = None,
        as_of: str | None = None,
        max_input_age: Any = None,
        require_components: Sequence[str] | str = (),
        soft_fail: bool = False,
        mltrace_conn_id: str | None = None,
        component: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._init_gate(output, as_of, max_input_age, require_components, mltrace_conn_id, component)
        self.soft_fail = soft_fail
        input_age(max_input_age if not _templated(max_input_age) else None)  # a bad value fails at parse time

    def _output_address(self, context) -> str:
        return self._address()

    def execute(self, context):
        start = datetime.now(timezone.utc)
        result = self._check(self._output_address(context))
        summary = result.summary()
        self._record(context, result, start, skipped=self.soft_fail and not result.passed)
        if result.passed:
            self.log.info("%s", summary)
            return result.to_dict()
        self.log.error("%s", summary)
        if self.soft_fail:
            raise AirflowSkipException(summary)
        raise LineageCheckFailed(summary)


class LineageCheckSensor(_Gate, BaseSensorOperator):
    """Wait until the trace of ``output`` passes the lineage check (same arguments as
    :class:`LineageCheckOperator`, plus the sensor's ``poke_interval``, ``timeout``, ``soft_fail``).
    ``mode`` defaults to ``"reschedule"``: no worker slot is held while waiting."""

    template_fields: Sequence[str] = CHECK_TEMPLATE_FIELDS
    ui_color = "#e8d4f7"

    def __init__(
        self,
        *,
        output: str,
        as_of: str | None = None,
        max_input_age: Any = None,
        require_components: Sequence[str] | str = (),
        mltrace_conn_id: str | None = None,
        component: str | None = None,
        mode: str = "reschedule",
        **kwargs: Any,
    ) -> None:
        super().__init__(mode=mode, **kwargs)
        self._init_gate(output, as_of, max_input_age, require_components, mltrace_conn_id, component)
        self._last: CheckResult | None = None

    def poke(self, context) -> bool:
        result = self._check(self._address())
        self._last = result
        self.log.info("%s", result.summary())
        return result.passed

    def execute(self, context):
        start = datetime.now(timezone.utc)
        try:
            super().execute(context)
        except AirflowSkipException:
            if self._last is not None and not self._last.passed:
                self._record(context, self._last, start, skipped=True)
            raise
        except Exception:
            if self._last is not None and not self._last.passed:
                self._record(context, self._last, start)
            raise
        if self._last is not None:
            self._record(context, self._last, start)
            return self._last.to_dict()
        return None


def _templated(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


class _LineageCheckDecoratedOperator(DecoratedOperator, LineageCheckOperator):
    """The operator behind ``@lineage_check``: the decorated function returns the address to check."""

    template_fields: Sequence[str] = ("op_args", "op_kwargs", *CHECK_TEMPLATE_FIELDS)
    custom_operator_name: str = "@lineage_check"

    def __init__(self, *, python_callable, op_args, op_kwargs, **kwargs) -> None:
        super().__init__(python_callable=python_callable, op_args=op_args, op_kwargs=op_kwargs, **kwargs)

    def _output_address(self, context) -> str:
        self.output_address = self.python_callable(*self.op_args, **self.op_kwargs)
        return self._address()


def lineage_check(python_callable: Callable | None = None, **kwargs: Any):
    """``@lineage_check(require_components=[...])``: a TaskFlow-style gate; the function returns the
    address to check (computed at run time, from its arguments or XComs). Takes the arguments of
    :class:`LineageCheckOperator` (but ``output``) and of ``@task``."""
    return task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=False,
        decorated_operator_class=_LineageCheckDecoratedOperator,
        **kwargs,
    )
