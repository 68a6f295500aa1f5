"""The demo behind ``make demo``: a local Airflow with the example DAGs traced into mltrace, and its UI.

    python scripts/demo.py [--home .demo] [--port 8080] [--no-serve]

It runs from a checkout (the example DAGs of ``dags/``, the process helpers of ``tests/support``); the
installed package does not ship it.

1. A fresh Airflow home in ``<home>/airflow`` (SQLite metadata DB, FAB auth manager, an ``admin`` user),
   the example DAGs of ``dags/``, their data under ``<home>/data``; the Airflow API server starts on
   127.0.0.1:<port> (its log: ``<home>/api-server.log``).
2. The DAGs run twice, churn_training -> churn_batch_predict -> churn_report, each task try in a
   process of its own as in a deployment (``dag.test(use_executor=True)`` with the LocalExecutor), so
   the task logs are in the UI too. The store is the embedded default, ``<home>/airflow/mltrace.db`` (no
   connection set), and ``[mltrace] trace_all_tasks`` is on: the untraced report DAG is logged by the
   listener the installed plugin registers.
3. ``mltrace recent`` and ``mltrace trace <predictions>`` show what was logged; the second trace follows
   the second training run only.
4. The URL and login are printed and the server keeps running (Ctrl-C stops it; ``--no-serve`` stops it
   right away). ``<home>/env.sh`` holds the environment, to use ``airflow`` and ``mltrace`` on the demo.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # a checkout tool: tests/support is importable from the repo root

from tests.support.processes import port_free, start_api_server, stop_server  # noqa: E402

DAG_IDS = ("churn_training", "churn_batch_predict", "churn_report")
MARKER = ".mltrace-demo"
USER, PASSWORD = "admin", "admin"


def demo_env(home: Path, dags: Path, port: int) -> dict[str, str]:
    airflow_home = home / "airflow"
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home}/airflow.db",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}/",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__MLTRACE__TRACE_ALL_TASKS": "True",
        "MLTRACE_EXAMPLE_DATA": str(home / "data"),
        "MLTRACE_DB_URI": f"sqlite:///{airflow_home}/mltrace.db",  # for the mltrace CLI: the same store
    }


def fresh_home(home: Path) -> None:
    """Start over in ``home``, but never wipe a directory this demo did not create."""
    if home.exists() and any(home.iterdir()):
        if not (home / MARKER).exists():
            sys.exit(f"{home} exists and is not an mltrace demo directory; pick another --home")
        shutil.rmtree(home)
    (home / "airflow").mkdir(parents=True)
    (home / MARKER).write_text("created by scripts/demo.py\n")


def step(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def airflow_cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "airflow", *args], check=True, stdout=subprocess.DEVNULL)


def run_dags(rounds: int) -> dict[str, list]:
    """Run the example DAGs ``rounds`` times, every task try in a LocalExecutor process; return the DAG
    runs by dag_id."""
    from airflow.dag_processing.dagbag import BundleDagBag

    # dag.test() polls the executor and says "No tasks to run" every second while a task runs elsewhere.
    logging.getLogger("airflow.sdk.definitions.dag").setLevel(logging.ERROR)
    folder = os.environ["AIRFLOW__CORE__DAGS_FOLDER"]
    bag = BundleDagBag(folder, bundle_path=Path(folder), bundle_name="dags-folder")
    if bag.import_errors:
        sys.exit(f"the example DAGs do not import: {bag.import_errors}")
    runs: dict[str, list] = {dag_id: [] for dag_id in DAG_IDS}
    for i in range(rounds):
        for dag_id in DAG_IDS:
            started = time.monotonic()
            dr = bag.dags[dag_id].test(use_executor=True)
            print(
                f"    round {i + 1}: {dag_id:<20} {dr.state:<8} {time.monotonic() - started:5.1f} s",
                flush=True,
            )
            if dr.state != "success":
                sys.exit(f"{dag_id} did not succeed; see the log above")
            runs[dag_id].append(dr)
    return runs


def show(args: list[str]) -> None:
    print(f"\n$ mltrace {shlex.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "mltrace_core", *args], check=True)


def start_server(home: Path, port: int) -> subprocess.Popen:
    """The Airflow API server of the demo, its log in ``<home>/api-server.log``."""
    try:
        return start_api_server(home / "api-server.log", port)
    except RuntimeError as exc:
        sys.exit(str(exc))


def interruptible() -> None:
    """Ctrl-C (SIGINT) and SIGTERM end the demo, whatever handlers Airflow's executor left behind."""

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def serve(server: subprocess.Popen, port: int, home: Path) -> int:
    print(
        f"\nAirflow UI: http://127.0.0.1:{port}/   login: {USER} / {PASSWORD}\n"
        f"mltrace:    http://127.0.0.1:{port}/plugin/mltrace  (Browse > mltrace; a tab on each task instance"
        f" and DAG run; the bare app is at /mltrace/)\n"
        f"Server log: {home / 'api-server.log'}. Ctrl-C stops the server.\n",
        flush=True,
    )
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop_server(server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/demo.py", description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=".demo", help="demo directory, recreated (default .demo)")
    parser.add_argument("--dags", default=None, help="DAG folder (default: dags/ of this checkout)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--rounds", type=int, default=2, help="times to run the example DAGs (default 2)")
    parser.add_argument("--no-serve", action="store_true", help="stop after filling the store")
    args = parser.parse_args(argv)

    started = time.monotonic()
    home = Path(args.home).resolve()
    dags = Path(args.dags).resolve() if args.dags else REPO / "dags"
    if not (dags / "churn_training.py").exists():
        sys.exit(f"no example DAGs in {dags}; pass --dags")
    if not port_free(args.port):
        sys.exit(f"port {args.port} on 127.0.0.1 is in use; pass --port")
    fresh_home(home)
    env = demo_env(home, dags, args.port)
    os.environ.update(env)  # before anything imports airflow
    (home / "env.sh").write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()))

    step(f"Airflow home {env['AIRFLOW_HOME']}: metadata DB, admin user, API server on 127.0.0.1:{args.port}")
    from airflow.utils import db

    db.initdb()
    airflow_cli("users", "create", "--username", USER, "--password", PASSWORD, "--role", "Admin",
                "--firstname", "Demo", "--lastname", "Admin", "--email", "admin@example.com")  # fmt: skip
    server = start_server(home, args.port)
    interruptible()
    try:
        step(f"Running the example DAGs {args.rounds} times (store: {env['MLTRACE_DB_URI']})")
        print("    (churn_training.ingest fails its first try on purpose; Airflow retries it)", flush=True)
        run_dags(args.rounds)
        interruptible()

        import churn_assets  # from dags/, importable once the DAGs are parsed

        show(["recent", "--limit", "12"])
        show(["trace", churn_assets.PREDICTIONS.uri])
        print(
            f"\n(filled in {time.monotonic() - started:.0f} s. To use this Airflow and store from a shell: "
            f"source {home / 'env.sh'})",
            flush=True,
        )
    except BaseException:
        stop_server(server)
        raise
    if args.no_serve:
        stop_server(server)
        return 0
    return serve(server, args.port, home)


if __name__ == "__main__":
    sys.exit(main())
