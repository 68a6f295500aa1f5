"""Every import of Airflow internals, in one module: the next Airflow upgrade touches this file only.

"Internals" are the modules Airflow does not promise to keep: ``airflow.api_fastapi.*`` (the API server's
auth), ``airflow.sdk.bases.*`` (the TaskFlow decorator machinery), ``airflow.sdk.execution_time.*``
(the task runner), ``airflow.sdk.lineage`` (the hook-lineage collector, and how to tell it was made) and
the OpenLineage provider's SQL parser (``airflow.providers.openlineage.sqlparser``, when installed).
Airflow's public interfaces (``airflow.sdk``, ``airflow.listeners``,
``airflow.plugins_manager``, the providers' operators) are imported where they are used.

Names are resolved on first use (PEP 562), so a task process that never serves a page never imports the
API server's modules, and the API server never imports the task runner.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the real types, for the type checker
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
    from airflow.api_fastapi.auth.managers.models.resource_details import (
        AccessView,
        AssetDetails,
        DagAccessEntity,
        DagDetails,
    )
    from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_view
    from airflow.sdk.bases.decorator import DecoratedOperator, task_decorator_factory
    from airflow.sdk.lineage import HookLineageReader, get_hook_lineage_collector

__all__ = [
    "COOKIE_NAME_JWT_TOKEN",
    "AccessView",
    "AssetDetails",
    "BaseUser",
    "DagAccessEntity",
    "DagDetails",
    "DecoratedOperator",
    "GetUserDep",
    "HookLineageReader",
    "get_auth_manager",
    "get_hook_lineage_collector",
    "hook_lineage_collector_created",
    "openlineage_sql_lineage",
    "requires_access_view",
    "running_task_instance_class",
    "task_decorator_factory",
]

_LAZY = {
    # API server: users, permissions, the session cookie.
    "get_auth_manager": "airflow.api_fastapi.app",
    "COOKIE_NAME_JWT_TOKEN": "airflow.api_fastapi.auth.managers.base_auth_manager",
    "BaseUser": "airflow.api_fastapi.auth.managers.models.base_user",
    "AccessView": "airflow.api_fastapi.auth.managers.models.resource_details",
    "AssetDetails": "airflow.api_fastapi.auth.managers.models.resource_details",
    "DagAccessEntity": "airflow.api_fastapi.auth.managers.models.resource_details",
    "DagDetails": "airflow.api_fastapi.auth.managers.models.resource_details",
    "GetUserDep": "airflow.api_fastapi.core_api.security",
    "requires_access_view": "airflow.api_fastapi.core_api.security",
    # Task side: the base of TaskFlow-style decorated operators.
    "DecoratedOperator": "airflow.sdk.bases.decorator",
    "task_decorator_factory": "airflow.sdk.bases.decorator",
    # Task side: hook-level lineage (the collector hooks report to, and the reader class that switches it on).
    "HookLineageReader": "airflow.sdk.lineage",
    "get_hook_lineage_collector": "airflow.sdk.lineage",
}
_TASK_RUNNER = "airflow.sdk.execution_time.task_runner"


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # resolved once
    return value


def running_task_instance_class() -> type | None:
    """The class of the task instance a task process runs (``RuntimeTaskInstance``), or ``None`` outside
    a task process. Never imports the task runner: a process that has not loaded it is not running a task."""
    runner = sys.modules.get(_TASK_RUNNER)
    return getattr(runner, "RuntimeTaskInstance", None) if runner is not None else None


def hook_lineage_collector_created() -> bool:
    """Whether this process made Airflow's hook-lineage collector (a cached getter): if not, nothing was
    collected, and making it would import every provider's asset handlers for nothing. Unknown states
    count as made."""
    lineage = importlib.import_module("airflow.sdk.lineage")
    try:
        return lineage.get_hook_lineage_collector.cache_info().currsize != 0
    except AttributeError:
        return True


def openlineage_sql_lineage():
    """``parse(hook, sql, default_db)``: the tables a SQL statement a hook ran reads and writes, as the
    OpenLineage provider parses them for its own events (its SQL parser, the hook's database info and
    naming), an ``OperatorLineage`` or ``None``. Raises ImportError without the provider."""
    sqlparser = importlib.import_module("airflow.providers.openlineage.sqlparser")

    def parse(hook, sql, default_db):
        conn_id = hook.get_conn_id() if callable(getattr(hook, "get_conn_id", None)) else None
        conn_id = conn_id or getattr(hook, getattr(hook, "conn_name_attr", "") or "", None)
        connection = hook.get_connection(conn_id)
        return sqlparser.get_openlineage_facets_with_sql(
            hook=hook,
            sql=sql,
            conn_id=conn_id,
            database=default_db,
            use_connection=False,
            connection=connection,
        )

    return parse
