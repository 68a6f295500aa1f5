"""The OpenLineage run id of a task try, recorded with its run whether the OpenLineage provider is
installed or not (one run id across mltrace and the catalogue).

With the provider installed its own functions make the ids (``build_task_instance_ol_run_id``,
``build_dag_run_ol_run_id``) and its own ``namespace()`` names the namespace, so mltrace records exactly
what the provider emits. Without it, :mod:`mltrace_core.olids` reproduces the same rule and
:func:`mltrace_airflow.config.openlineage_namespace` reads the namespace the provider would read;
nothing of the provider is imported then.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from typing import Any

from mltrace_airflow import config
from mltrace_core import olids

PROVIDER = "airflow.providers.openlineage"


@cache
def provider_installed() -> bool:
    """Whether the OpenLineage provider can be imported (looked up once, never imported here)."""
    try:
        return importlib.util.find_spec(PROVIDER) is not None
    except (ImportError, ValueError):
        return False


def ids(ti: Any) -> dict[str, str]:
    """``openlineage_run_id``, ``openlineage_parent_run_id`` (its DAG run's) and ``openlineage_namespace``
    of the task try ``ti``, as :class:`~mltrace_core.ExternalIdentity` fields; empty when the try's DAG
    run is not known (a task instance outside a task process)."""
    dag_run = ti.get_template_context().get("dag_run")
    date = getattr(dag_run, "logical_date", None) or getattr(dag_run, "run_after", None)
    if date is None:
        return {}
    clear_number = getattr(dag_run, "clear_number", 0) or 0
    map_index = -1 if ti.map_index is None else ti.map_index
    if provider_installed():
        from airflow.providers.openlineage import conf as ol_conf
        from airflow.providers.openlineage.utils.utils import (
            build_dag_run_ol_run_id,
            build_task_instance_ol_run_id,
        )

        namespace = ol_conf.namespace()
        run_id = build_task_instance_ol_run_id(ti.dag_id, ti.task_id, ti.try_number, date, map_index)
        parent = build_dag_run_ol_run_id(ti.dag_id, date, clear_number)
    else:
        namespace = config.openlineage_namespace()
        run_id = olids.task_run_id(namespace, ti.dag_id, ti.task_id, ti.try_number, map_index, date)
        parent = olids.dag_run_id(namespace, ti.dag_id, date, clear_number)
    return {
        "openlineage_run_id": run_id,
        "openlineage_parent_run_id": parent,
        "openlineage_namespace": namespace,
    }
