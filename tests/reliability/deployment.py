"""A real Airflow deployment for the reliability tests: ``airflow scheduler`` + ``dag-processor`` +
``api-server``, the LocalExecutor, a PostgreSQL metadata database of its own on the shared server, the
example DAGs of ``dags/``, every task traced into the store named by ``AIRFLOW_CONN_MLTRACE_DEFAULT``.

It extends the browser test's :class:`~tests.support.airflow_server.Airflow` (FAB auth manager and its
users, ``airflow`` commands in subprocesses with their own environment) and starts every service in a
process group of its own, bound to 127.0.0.1 (the scheduler's log server is skipped: it would bind
0.0.0.0), stopped group by group in :meth:`Deployment.stop`, whatever happened.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from tests.support.airflow_server import BIN, Airflow
from tests.support.processes import free_port, stop_servers
from tests.support.stores import create_pg_database, drop_pg_database

EXAMPLE_DAGS = ("churn_training", "churn_batch_predict", "churn_report")
TERMINAL = {"success", "failed"}


class Service:
    """One ``airflow <command>`` in its own process group, its output in ``<root>/<name>.log``."""

    def __init__(self, airflow: Airflow, name: str, *args: str) -> None:
        self.name = name
        self.path = airflow.root / f"{name}.log"
        self.log = open(self.path, "w")  # noqa: SIM115  # closed in stop()
        self.proc = subprocess.Popen(
            [str(BIN / "airflow"), *args],
            cwd=airflow.root,
            env=airflow.env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def text(self) -> str:
        self.log.flush()
        return self.path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM to the whole group, then SIGKILL to whatever is left of it."""
        stop_services([self])


def stop_services(services: list[Service]) -> None:
    """Every service's group signalled in the order given, then all waited for together."""
    try:
        stop_servers([s.proc for s in services], grace=20)
    finally:
        for service in services:
            service.log.close()


@dataclass
class Deployment(Airflow):
    """With ``celery_workers``, the CeleryExecutor instead: that many ``airflow celery worker``s on a queue
    of this deployment's own, the broker ``broker_url`` (Redis on loopback), results in the metadata DB."""

    metadata_uri: str = ""  # postgresql://... (Airflow's own database)
    store_conn: str = ""  # AIRFLOW_CONN_MLTRACE_DEFAULT
    parallelism: int = 4
    celery_workers: int = 0
    broker_url: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    # The home of a deployment whose metadata database this one's is a copy of (MetadataTemplate):
    # Airflow's schema and users are there already, only the configuration file is to be made.
    copied_from: Path | None = None
    queue: str = field(default_factory=lambda: f"mltrace-{uuid.uuid4().hex[:12]}")

    @property
    def store_uri(self) -> str:  # the browser test's Airflow keeps a SQLite store; this one a connection
        return ""

    @property
    def spool_dir(self) -> Path:
        return self.root / "spool"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    def env(self) -> dict[str, str]:
        env = super().env()
        del env["MLTRACE_DB_URI"]  # the store is the connection, as in a deployment
        env.update(
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            AIRFLOW__CORE__PARALLELISM=str(self.parallelism),
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=self.metadata_uri.replace(
                "postgresql://", "postgresql+psycopg2://", 1
            ),
            AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE="3",
            AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW="5",
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="2",
            AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES="1",
            AIRFLOW__API__WORKERS="1",
            AIRFLOW_CONN_MLTRACE_DEFAULT=self.store_conn,
            AIRFLOW__MLTRACE__SPOOL_DIR=str(self.spool_dir),
        )
        if self.celery_workers:
            env.update(
                AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
                AIRFLOW__CELERY__BROKER_URL=self.broker_url,
                AIRFLOW__CELERY__RESULT_BACKEND="db+" + env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"],
                AIRFLOW__CELERY__WORKER_CONCURRENCY=str(self.parallelism // self.celery_workers),
                AIRFLOW__OPERATORS__DEFAULT_QUEUE=self.queue,  # other users of the broker never see ours
            )
        env.update(self.extra_env)
        return env

    def set_up(self) -> None:
        if self.copied_from is None:
            super().set_up()
            return
        self.home.mkdir(parents=True, exist_ok=True)
        cfg = (self.copied_from / "airflow.cfg").read_text()  # made by `airflow db migrate` there
        (self.home / "airflow.cfg").write_text(cfg.replace(str(self.copied_from), str(self.home)))

    # -- services -------------------------------------------------------------------------------------
    def start(self) -> None:
        self.services = [
            Service(self, "api-server", "api-server", "-H", "127.0.0.1", "-p", str(self.port), "-w", "1"),
            Service(self, "dag-processor", "dag-processor"),
            Service(self, "scheduler", "scheduler", "--skip-serve-logs"),
        ]
        for i in range(self.celery_workers):
            self.services.append(
                Service(
                    self,
                    f"worker-{i}",
                    "celery",
                    "worker",
                    "--skip-serve-logs",
                    "-q",
                    self.queue,
                    "-H",
                    f"{self.queue}-{i}@%h",
                    "--without-gossip",
                    "--without-mingle",
                )  # fmt: skip
            )

    def stop(self) -> None:
        stop_services(self.services[::-1])  # workers and scheduler signalled first: no new task processes

    def check_alive(self) -> None:
        for service in self.services:
            if not service.alive():
                raise RuntimeError(
                    f"{service.name} exited ({service.proc.returncode}):\n{service.text()[-3000:]}"
                )

    def wait_ready(self, timeout: float = 180) -> None:
        """The API server answers and the dag-processor has stored every example DAG, unpaused."""
        deadline = time.monotonic() + timeout
        token = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                token = token or self.token("admin")
                dags = {
                    dag_id: self.api("GET", f"/api/v2/dags/{dag_id}", token=token) for dag_id in EXAMPLE_DAGS
                }
                if all(not d["is_paused"] for d in dags.values()):
                    return
            except (OSError, urllib.error.HTTPError, KeyError):
                pass
            time.sleep(1)
        raise RuntimeError(f"Airflow not ready after {timeout} s")

    # -- the REST API ---------------------------------------------------------------------------------
    def request(self, method: str, path: str, token: str | None = None, body=None) -> tuple[int, bytes]:
        headers, data = {}, None
        if body is not None:
            headers["Content-Type"], data = "application/json", json.dumps(body).encode()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.base + path, data, headers, method=method)
        # A GET asks again when the one API server worker was too busy to answer in time (a loaded
        # machine with a scheduler and task processes beside it); anything else is asked once.
        attempts = 3 if method == "GET" else 1
        for attempt in range(attempts):
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    return r.status, r.read()
            except urllib.error.HTTPError as err:
                return err.code, err.read()
            except TimeoutError:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def api(self, method: str, path: str, token: str | None = None, body=None):
        status, data = self.request(method, path, token or self.token("admin"), body)
        if status >= 300:
            raise urllib.error.HTTPError(self.base + path, status, data.decode(errors="replace"), None, None)
        return json.loads(data) if data else None

    def trigger(self, dag_id: str, token: str, run_id: str | None = None, **conf) -> str:
        """A manual DAG run without a logical date (as the UI's trigger button may send); its run_id."""
        body = {"logical_date": None, "conf": conf}
        if run_id:
            body["dag_run_id"] = run_id
        return self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", token, body)["dag_run_id"]

    def dag_runs(self, token: str) -> dict[str, list[dict]]:
        return {
            dag_id: self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100", token)["dag_runs"]
            for dag_id in EXAMPLE_DAGS
        }

    def queued_asset_events(self, token: str) -> int:
        total = 0
        for dag_id in EXAMPLE_DAGS:
            status, data = self.request("GET", f"/api/v2/dags/{dag_id}/assets/queuedEvents", token)
            if status == 200:
                total += json.loads(data)["total_entries"]
        return total

    def wait_quiet(self, token: str, timeout: float, settle: float = 6) -> dict[str, list[dict]]:
        """Wait until every DAG run has ended and no Asset event waits to start another (twice in a
        row, ``settle`` seconds apart); return the DAG runs by dag_id."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            self.check_alive()
            runs = self.dag_runs(token)
            done = all(r["state"] in TERMINAL for rs in runs.values() for r in rs)
            if done and self.queued_asset_events(token) == 0:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle:
                    return runs
            else:
                quiet_since = None
            time.sleep(1)
        states = {d: [r["state"] for r in rs] for d, rs in self.dag_runs(token).items()}
        raise TimeoutError(f"DAG runs still going after {timeout} s: {states}")

    def task_instances(self, token: str, dag_id: str, run_id: str) -> list[dict]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances?limit=100"
        return self.api("GET", path, token)["task_instances"]

    def tries(self, token: str, dag_id: str, run_id: str, task_id: str, map_index: int) -> list[dict]:
        path = (
            f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"
            f"/{map_index}/tries" if map_index >= 0 else
            f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/tries"
        )  # fmt: skip
        return self.api("GET", path, token)["task_instances"]

    def task_logs(self) -> dict[Path, str]:
        return {p: p.read_text(errors="replace") for p in self.logs.rglob("attempt=*.log")}


class MetadataTemplate:
    """Airflow's metadata database migrated and given its users once per session, then copied by
    PostgreSQL (``CREATE DATABASE ... TEMPLATE``) for each deployment: the same schema and users as
    ``airflow db migrate`` and the users script make, without their half a minute to a minute of
    imports per deployment."""

    def __init__(self, pg_server: str, root: Path) -> None:
        self.pg_server = pg_server
        self.uri = create_pg_database(pg_server, "mltrace_airflow_template")
        self.deployment = Deployment(root, metadata_uri=self.uri)
        self.deployment.set_up()

    def database(self, prefix: str) -> str:
        return create_pg_database(self.pg_server, prefix, template=self.uri)

    def drop(self) -> None:
        drop_pg_database(self.uri)
