"""The Airflow tabs: the runs of one task instance (or one try of it), and the runs of one DAG run.

Airflow fills ``{DAG_ID}``, ``{RUN_ID}``, ``{TASK_ID}`` and ``{MAP_INDEX}`` in a tab's URL (no try
number, and ``{MAP_INDEX}`` stays literal for an unmapped task), so the task-instance tab shows the latest
try's run and lists the others.
"""

from __future__ import annotations

from mltrace_airflow.web import deps
from mltrace_core import Run, Store


def _try_key(run: Run) -> tuple[int, int]:
    return (run.external.try_number or 0) if run.external else 0, run.id


def task_runs(
    store: Store,
    dag_id: str | None,
    run_id: str | None,
    task_id: str | None = None,
    map_index: str | None = None,
    try_number: str | None = None,
) -> list[Run]:
    """Runs of one DAG run; with ``task_id``, of that task (and map index, and try, when given),
    latest try first. Parameters come straight from the URL and are checked here."""
    dag = deps.airflow_id(dag_id, "dag_id")
    run = deps.airflow_id(run_id, "run_id")
    if task_id is None or task_id == "" or task_id.startswith("{"):
        return store.get_runs_for_dag_run(dag, run)
    task = deps.airflow_id(task_id, "task_id")
    index, attempt = deps.map_index(map_index), deps.try_number(try_number)
    found = []
    for r in store.get_runs_for_dag_run(dag, run, task):
        ext_index = r.external.map_index if r.external and r.external.map_index is not None else -1
        if index is not None and ext_index != index:
            continue
        if attempt is not None and (r.external.try_number if r.external else None) != attempt:
            continue
        found.append(r)
    return sorted(found, key=_try_key, reverse=True)
