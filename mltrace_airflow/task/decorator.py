"""``@traced_task``: the TaskFlow ``@task``, traced.

    @traced_task(inputs=["data/{{ ds }}/raw.csv"], outputs=["data/{{ ds }}/features.json"])
    def featurize(mltrace=None):        # optional: the run handle, to add pointers at run time
        ...

Takes every ``@task`` argument plus the tracing ones of :class:`TracingMixin`; ``.expand()``,
``.partial()`` and ``.override()`` work as for ``@task``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mltrace_airflow.compat import DecoratedOperator, task_decorator_factory
from mltrace_airflow.task.operators import TRACE_TEMPLATE_FIELDS, TracedPythonOperator


class _TracedDecoratedOperator(DecoratedOperator, TracedPythonOperator):
    """The operator behind ``@traced_task`` (shaped like the standard provider's ``@task`` operator)."""

    template_fields: Sequence[str] = ("templates_dict", "op_args", "op_kwargs", *TRACE_TEMPLATE_FIELDS)
    template_fields_renderers = {"templates_dict": "json", "op_args": "py", "op_kwargs": "py"}
    custom_operator_name: str = "@traced_task"

    def __init__(self, *, python_callable, op_args, op_kwargs, **kwargs) -> None:
        super().__init__(
            kwargs_to_upstream={
                "python_callable": python_callable,
                "op_args": op_args,
                "op_kwargs": op_kwargs,
            },
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            **kwargs,
        )


def traced_task(python_callable: Callable | None = None, multiple_outputs: bool | None = None, **kwargs: Any):
    """Like ``airflow.sdk.task``, with ``component``, ``inputs``, ``outputs``, ``mltrace_tags``,
    ``mltrace_conn_id`` and ``mltrace_hash_files``. Usable bare (``@traced_task``) or called."""
    return task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=multiple_outputs,
        decorated_operator_class=_TracedDecoratedOperator,
        **kwargs,
    )
