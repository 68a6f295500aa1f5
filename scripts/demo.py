"""The demo behind ``make demo``: a local Airflow with the example DAGs traced into mltrace, and its UI.

    python scripts/demo.py [--home .demo] [--port 8080] [--no-serve]

It runs from a checkout (the example DAGs of ``dags/``, the process helpers of ``tests/support``); the
installed package does not ship it.

1. A fresh Airflow home in ``<home>/airflow`` (SQLite metadata DB, FAB auth manager, an ``admin`` user),
   the example DAGs of ``dags/``, their data under ``<home>/data``; the Airflow API server starts on
   127.0.0.1:<port>.
2. The DAGs run twice, churn_training -> churn_batch_predict -> churn_report, each task try in a
   process of its own as in a deployment (``dag.test(use_executor=True)`` with the LocalExecutor), so
   the task logs are in the UI too. The store is the embedded default, ``<home>/airflow/mltrace.db`` (no
   connection set), and ``[mltrace] trace_all_tasks`` is on: the untraced report DAG is logged by the
   listener the installed plugin registers.
3. ``mltrace recent`` and ``mltrace trace <predictions>`` show what was logged; the second trace follows
   the second training run only; ``mltrace diff`` compares the two rounds' predictions.
4. Where to click is printed and the server keeps running (Ctrl-C stops it; ``--no-serve`` stops it
   right away). ``<home>/env.sh`` holds the environment, to use ``airflow`` and ``mltrace`` on the demo.

The console shows only the demo's own lines: one per DAG run (its state, duration and the runs mltrace
logged for it, with a line for each failed try Airflow retried), the CLI views and where to click.
Everything Airflow prints -- this process, the executor, the task processes, the setup commands -- goes
to ``<home>/airflow.log``; the API server's to ``<home>/api-server.log``; task logs to
``<home>/airflow/logs/``. The demo's own redirection is done once, at the file-descriptor level, before
Airflow is imported, so child processes inherit it too.
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
import traceback
from pathlib import Path
from typing import TextIO

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # a checkout tool: tests/support is importable from the repo root

from tests.support.processes import port_free, start_api_server, stop_server  # noqa: E402

DAG_IDS = ("churn_training", "churn_batch_predict", "churn_report")
MARKER = ".mltrace-demo"
USER, PASSWORD = "admin", "admin"
AIRFLOW_LOG = "airflow.log"
SERVER_LOG = "api-server.log"


class DemoFailed(Exception):
    """The demo cannot go on; the message says why and where to look."""


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
            raise DemoFailed(f"{home} exists and is not an mltrace demo directory; pick another --home")
        shutil.rmtree(home)
    (home / "airflow").mkdir(parents=True)
    (home / MARKER).write_text("created by scripts/demo.py\n")


def shown(path: Path) -> str:
    """A path as the user typed it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def console_only(log_path: Path) -> TextIO:
    """From now on everything this process and its children write to stdout or stderr goes to
    ``log_path``; return a stream to the real terminal, for the demo's own lines."""
    sys.stdout.flush()
    sys.stderr.flush()
    console = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8", errors="replace")
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    return console


def airflow_cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "airflow", *args], check=True)


def tries_line(store, dag_id: str, run_id: str) -> tuple[int, list[str]]:
    """How many runs mltrace logged for a DAG run, and one line per failed try (its error, and the try
    of the same task that succeeded, if any): the store's view, not Airflow's log."""
    runs = store.get_runs_for_dag_run(dag_id, run_id)
    tries = [r for r in runs if r.external is not None]
    failed = []
    for run in tries:
        if run.status != "failed":
            continue
        ext = run.external
        error = (run.error or "failed").splitlines()[0]
        retry = [
            r.external.try_number
            for r in tries
            if r.status == "success"
            and (r.external.task_id, r.external.map_index) == (ext.task_id, ext.map_index)
        ]
        then = f"; try {retry[0]} succeeded" if retry else ""
        failed.append(f"{ext.task_id}: try {ext.try_number} failed ({error}){then}")
    return len(runs), failed


def run_dags(rounds: int, console: TextIO) -> None:
    """Run the example DAGs ``rounds`` times, every task try in a LocalExecutor process, one console line
    per DAG run."""
    from airflow.dag_processing.dagbag import BundleDagBag

    from mltrace_core import Store, formats

    # dag.test() polls the executor and says "No tasks to run" every second while a task runs elsewhere.
    logging.getLogger("airflow.sdk.definitions.dag").setLevel(logging.ERROR)
    folder = os.environ["AIRFLOW__CORE__DAGS_FOLDER"]
    bag = BundleDagBag(folder, bundle_path=Path(folder), bundle_name="dags-folder")
    if bag.import_errors:
        raise DemoFailed(f"the example DAGs do not import: {bag.import_errors}")
    store = Store(os.environ["MLTRACE_DB_URI"])
    try:
        for i in range(rounds):
            for dag_id in DAG_IDS:
                started = time.monotonic()
                dr = bag.dags[dag_id].test(use_executor=True)
                took = formats.duration(time.monotonic() - started)
                traced, failed = tries_line(store, dag_id, dr.run_id)
                print(
                    f"    round {i + 1}  {dag_id:<20} {dr.state:<8} {took:>8}   {traced} runs traced",
                    file=console,
                )
                for line in failed:
                    print(f"             {line}", file=console)
                if dr.state != "success":
                    raise DemoFailed(f"{dag_id} did not succeed; its task logs are in the Airflow UI")
    finally:
        store.dispose()


def show(args: list[str], console: TextIO) -> None:
    print(f"\n$ mltrace {shlex.join(args)}", file=console, flush=True)
    subprocess.run([sys.executable, "-m", "mltrace_core", *args], check=True, stdout=console, stderr=console)


def first_version(env: dict[str, str]) -> str | None:
    """The version of the predictions the first round published: what the second is diffed with."""
    import churn_assets

    from mltrace_core import Store

    store = Store(env["MLTRACE_DB_URI"])
    try:
        return store.versions(churn_assets.PREDICTIONS.uri)[-1].version
    finally:
        store.dispose()


def interruptible() -> None:
    """Ctrl-C (SIGINT) and SIGTERM end the demo, whatever handlers Airflow's executor left behind."""

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def where_to_click(console: TextIO, port: int, home: Path, output: str, serving: bool) -> None:
    print(
        f"\n==> Where to click\n"
        f"    Airflow UI  http://127.0.0.1:{port}/   login {USER} / {PASSWORD}\n"
        f"    mltrace     http://127.0.0.1:{port}/plugin/mltrace   (Browse > mltrace); in its command box type\n"
        f"                  trace {output}\n"
        f"                and click a run in the graph. Every task instance and DAG run has an mltrace tab\n"
        f"                too: try churn_training > ingest, whose first try failed.\n"
        f"    A shell     source {shown(home / 'env.sh')}   (then mltrace recent, mltrace inspect ID, airflow ...)",
        file=console,
    )
    if serving:
        print("\nCtrl-C stops the server.", file=console)


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
    try:
        if not (dags / "churn_training.py").exists():
            raise DemoFailed(f"no example DAGs in {dags}; pass --dags")
        if not port_free(args.port):
            raise DemoFailed(f"port {args.port} on 127.0.0.1 is in use; pass --port")
        fresh_home(home)
    except DemoFailed as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    env = demo_env(home, dags, args.port)
    os.environ.update(env)  # before anything imports airflow
    (home / "env.sh").write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()))
    console = console_only(home / AIRFLOW_LOG)  # before anything imports airflow, too
    print(
        f"mltrace demo in {shown(home)}. Airflow's own output goes to {shown(home / AIRFLOW_LOG)} and "
        f"{shown(home / SERVER_LOG)}; task logs to {shown(home / 'airflow' / 'logs')}/",
        file=console,
    )
    server = None
    try:
        print(
            f"\n==> Airflow on http://127.0.0.1:{args.port} (SQLite metadata DB, user {USER})", file=console
        )
        from airflow.utils import db

        db.initdb()
        airflow_cli("users", "create", "--username", USER, "--password", PASSWORD, "--role", "Admin",
                    "--firstname", "Demo", "--lastname", "Admin", "--email", "admin@example.com")  # fmt: skip
        try:
            server = start_api_server(home / SERVER_LOG, args.port)
        except RuntimeError as exc:
            raise DemoFailed(str(exc)) from None
        interruptible()
        print(
            f"\n==> Running the example DAGs {args.rounds} times, every task try in a process of its own,\n"
            f"    traced into {env['MLTRACE_DB_URI']}",
            file=console,
        )
        run_dags(args.rounds, console)
        interruptible()

        import churn_assets  # from dags/, importable once the DAGs are parsed

        print("\n==> What mltrace logged", file=console)
        show(["recent", "--limit", "8"], console)
        show(["trace", churn_assets.PREDICTIONS.uri], console)
        show(
            ["diff", f"{churn_assets.PREDICTIONS.uri}@{first_version(env)}", churn_assets.PREDICTIONS.uri],
            console,
        )
        print(f"\n(filled in {time.monotonic() - started:.0f} s)", file=console)
        where_to_click(console, args.port, home, churn_assets.PREDICTIONS.uri, serving=not args.no_serve)
        if args.no_serve:
            return 0
        try:
            return server.wait()
        except KeyboardInterrupt:
            return 0
    except KeyboardInterrupt:
        print("\ndemo: stopped", file=console)
        return 130
    except DemoFailed as exc:
        print(f"\ndemo: {exc}. Airflow's output is in {shown(home / AIRFLOW_LOG)}", file=console)
        return 1
    except Exception as exc:
        traceback.print_exc()  # into the log, with Airflow's
        print(
            f"\ndemo: failed: {type(exc).__name__}: {exc}\n      the traceback is in {shown(home / AIRFLOW_LOG)}",
            file=console,
        )
        return 1
    finally:
        if server is not None:
            stop_server(server)


if __name__ == "__main__":
    sys.exit(main())
