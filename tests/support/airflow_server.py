"""A real Airflow for the browser test: a temporary AIRFLOW_HOME with a SQLite metadata database, the
FAB auth manager and its users, a store filled by real pipeline runs, and ``airflow api-server`` on a
free port of 127.0.0.1, stopped (its whole process group) when done.

Every Airflow command runs in a subprocess with its own environment: Airflow reads its configuration
at import, and this process's Airflow is configured for the other tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import free_port, stop_server, wait_for_url

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
PASSWORDS = {"admin": "admin-pw", "reader": "reader-pw", "viewer": "viewer-pw"}

# admin: Admin (view + edit). reader: Viewer + "can read on Plugins" (sees mltrace, may not flag).
# viewer: Viewer (no plugin access: Airflow shows it no mltrace entry, the app answers 403).
USERS_SCRIPT = """
from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder
with get_application_builder() as ab:
    sm = ab.sm
    reader = sm.find_role("MltraceReader") or sm.add_role("MltraceReader")
    for perm in [*sm.find_role("Viewer").permissions, sm.get_permission("can_read", "Plugins")]:
        sm.add_permission_to_role(reader, perm)
    for name, role, password in %r:
        sm.add_user(name, name, "user", name + "@example.com", sm.find_role(role), password=password)
"""


@dataclass
class Airflow:
    root: Path
    port: int = field(default_factory=free_port)

    @property
    def home(self) -> Path:
        return self.root / "airflow-home"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def store_uri(self) -> str:
        return f"sqlite:///{self.root / 'mltrace.db'}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MLTRACE", "_AIRFLOW"))}
        env.update(
            AIRFLOW_HOME=str(self.home),
            AIRFLOW__CORE__AUTH_MANAGER=FAB,
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{self.home / 'airflow.db'}",
            AIRFLOW__API__BASE_URL=self.base + "/",
            AIRFLOW__API_AUTH__JWT_SECRET="mltrace-e2e-jwt-secret-0123456789abcdef",
            AIRFLOW__API__SECRET_KEY="mltrace-e2e-secret-key-0123456789",
            AIRFLOW__MLTRACE__TRACE_ALL_TASKS="True",
            MLTRACE_DB_URI=self.store_uri,
            MLTRACE_EXAMPLE_DATA=str(self.root / "data"),
            MLTRACE_HOME=str(self.root / "mltrace-home"),
        )
        return env

    def run(self, *args: str, timeout: float = 180) -> str:
        """Run a command (``airflow ...`` or ``python ...`` from this venv) in the root directory."""
        cmd = [str(BIN / args[0]), *args[1:]]
        done = subprocess.run(
            cmd, cwd=self.root, env=self.env(), capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:3])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return done.stdout

    def set_up(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.run("airflow", "db", "migrate")
        users = [("admin", "Admin", PASSWORDS["admin"]), ("reader", "MltraceReader", PASSWORDS["reader"])]
        users.append(("viewer", "Viewer", PASSWORDS["viewer"]))
        self.run("python", "-c", USERS_SCRIPT % (users,))

    def token(self, user: str) -> str:
        body = json.dumps({"username": user, "password": PASSWORDS[user]}).encode()
        req = urllib.request.Request(
            self.base + "/auth/token", body, {"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())["access_token"]


class ApiServer:
    """``airflow api-server`` in its own process group; ``stop()`` ends the group, whatever happens."""

    def __init__(self, airflow: Airflow) -> None:
        self.airflow = airflow
        self.log = open(airflow.root / "api-server.log", "w")  # noqa: SIM115  # closed in stop()
        self.proc = subprocess.Popen(
            [str(BIN / "airflow"), "api-server", "-H", "127.0.0.1", "-p", str(airflow.port), "-w", "1"],
            cwd=airflow.root,
            env=airflow.env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 120) -> None:
        if not wait_for_url(self.airflow.base + "/api/v2/monitor/health", self.proc, timeout):
            state = f"exited with {self.proc.returncode}" if self.proc.poll() is not None else "not ready"
            raise RuntimeError(f"api-server {state} after {timeout}s: {self.tail()}")

    def tail(self) -> str:
        self.log.flush()
        return (self.airflow.root / "api-server.log").read_text()[-3000:]

    def stop(self) -> None:
        """SIGTERM to the whole group (uvicorn and its workers), then SIGKILL to whatever is left."""
        try:
            stop_server(self.proc, grace=20)
        finally:
            self.log.close()
