"""The mltrace Airflow plugin (entry point ``airflow.plugins``: ``mltrace``).

It only wires things up: the web app (``mltrace_airflow.web.app.create_app``) mounted at ``/mltrace`` on the API server, a
"mltrace" entry under Browse, a task-instance tab and a DAG-run tab, the listener that traces every
task, and the hook-lineage reader that makes Airflow's hook-lineage collector collect
(``mltrace_airflow.task.hooklineage``; ``[mltrace] hook_lineage``). Nothing is built in the class body: each attribute is computed on first use in the process that
asks (the API server asks for the app; task processes only for the listener), then reused.
"""

from __future__ import annotations

import importlib
import logging
from functools import cache
from types import ModuleType
from typing import Any

from airflow.plugins_manager import AirflowPlugin

log = logging.getLogger(__name__)

URL_PREFIX = "/mltrace"
LISTENER_MODULE = "mltrace_airflow.task.listener"


@cache
def _fastapi_apps() -> tuple[dict[str, Any], ...]:
    from mltrace_airflow.web.app import create_app

    return ({"app": create_app(), "url_prefix": URL_PREFIX, "name": "mltrace"},)


def _external_views() -> list[dict[str, Any]]:
    # Hrefs are relative: Airflow's UI resolves them against its base path. Airflow substitutes
    # {DAG_ID}, {RUN_ID}, {TASK_ID} and {MAP_INDEX} (URL-encoded) in tabs; there is no try number.
    return [
        {
            "name": "mltrace",
            "href": "mltrace/",
            "destination": "nav",
            "category": "browse",
            "url_route": "mltrace",
        },
        {
            "name": "mltrace",
            "href": "mltrace/ti?dag_id={DAG_ID}&run_id={RUN_ID}&task_id={TASK_ID}&map_index={MAP_INDEX}",
            "destination": "task_instance",
            "url_route": "mltrace_ti",
        },
        {
            "name": "mltrace",
            "href": "mltrace/dagrun?dag_id={DAG_ID}&run_id={RUN_ID}",
            "destination": "dag_run",
            "url_route": "mltrace_dagrun",
        },
    ]


@cache
def _listeners() -> tuple[ModuleType, ...]:
    """The trace-every-task listener module; none (with a warning) if this installation lacks it."""
    try:
        return (importlib.import_module(LISTENER_MODULE),)
    except ModuleNotFoundError as exc:
        if exc.name != LISTENER_MODULE:
            raise
        log.warning(
            "mltrace: %s is not installed; tasks are traced only by traced operators", LISTENER_MODULE
        )
        return ()


def _hook_lineage_readers() -> list[type]:
    """The reader that switches Airflow's hook-lineage collector on, unless ``[mltrace] hook_lineage`` is off
    or tracing is disabled (read once per process, when Airflow loads the plugins)."""
    from mltrace_airflow import config

    if config.disabled() or not config.hook_lineage():
        return []
    from mltrace_airflow.task.hooklineage import MltraceHookLineageReader

    return [MltraceHookLineageReader]


class MltracePlugin(AirflowPlugin):
    """Lineage pages inside the Airflow UI, and the listener that traces every task."""

    name = "mltrace"

    @property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return list(_fastapi_apps())

    @property
    def external_views(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return _external_views()

    @property
    def listeners(self) -> list[ModuleType]:  # type: ignore[override]
        return list(_listeners())

    @property
    def hook_lineage_readers(self) -> list[type]:  # type: ignore[override]
        return _hook_lineage_readers()
