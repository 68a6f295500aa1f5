"""One Airflow home for a whole test session, configured before anything imports airflow.

Airflow reads its configuration and opens its metadata database when first imported, so the
environment must be in place before then: every conftest that runs Airflow calls :func:`configure`
at import time. It is idempotent (the first caller creates the home; later ones reuse it), so the
Airflow test groups can run alone or together in one process.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEST_DAGS = REPO / "tests" / "task" / "dags"
_MARK = "MLTRACE_TEST_AIRFLOW_HOME"
_LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"


def configure() -> Path:
    """The session's AIRFLOW_HOME (SQLite metadata DB, the repo's dags/, example data inside it). Each
    pytest-xdist worker gets its own (a worker inherits the controller's environment, mark included)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if os.environ.get(_MARK) and os.environ.get(_MARK + "_WORKER", "") == worker:
        return Path(os.environ[_MARK])
    home = Path(tempfile.mkdtemp(prefix=f"mltrace-airflow-{worker}-" if worker else "mltrace-airflow-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ.update(
        {
            _MARK: str(home),
            _MARK + "_WORKER": worker,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            # The example DAGs, plus the tests' own edge-case DAGs in a second bundle.
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
                [
                    {"name": "dags-folder", "classpath": _LOCAL_BUNDLE, "kwargs": {}},
                    {"name": "mltrace-tests", "classpath": _LOCAL_BUNDLE, "kwargs": {"path": str(TEST_DAGS)}},
                ]
            ),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__API__BASE_URL": "http://127.0.0.1:8080/",
            "MLTRACE_EXAMPLE_DATA": str(home / "example_data"),
            # The OpenLineage provider emits from a thread, not a forked copy of this test process: a
            # fork of a process whose other threads hold locks can hang until [openlineage]
            # execution_timeout at every task event (the provider's own docs warn of it).
            "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
        }
    )
    for name in list(os.environ):  # a developer's own Airflow settings must not leak in
        if name.startswith(("AIRFLOW__MLTRACE__", "AIRFLOW_CONN_")):
            del os.environ[name]
    return home
