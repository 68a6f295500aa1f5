"""Every import of Airflow internals, in one module: the next Airflow upgrade touches this file only.

"Internals" are the modules Airflow does not promise to keep: ``airflow.api_fastapi.*`` (the API server's
auth), ``airflow.sdk.bases.*`` (the TaskFlow decorator machinery) and ``airflow.sdk.execution_time.*``
(the task runner). Airflow's public interfaces (``airflow.sdk``, ``airflow.listeners``,
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

__all__ = [
    "COOKIE_NAME_JWT_TOKEN",
    "AccessView",
    "AssetDetails",
    "BaseUser",
    "DagAccessEntity",
    "DagDetails",
    "DecoratedOperator",
    "GetUserDep",
    "get_auth_manager",
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
