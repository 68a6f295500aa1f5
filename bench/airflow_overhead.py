"""What tracing costs an Airflow task try: traced vs plain operator, in the same DAG, for real.

    python bench/airflow_overhead.py                 (SQLite, PostgreSQL if reachable, dead and hung stores)
    python bench/airflow_overhead.py --pairs 20 --no-postgres

A throwaway AIRFLOW_HOME gets a DAG of N independent pairs of tasks doing the same small job (write a
file): one a ``PythonOperator``, one a ``TracedPythonOperator`` with two inputs and one output. The DAG
runs with ``dag.test()`` (in this process, tasks one after another, interleaved plain/traced) and each
task try's duration is read back from Airflow (start to end, as Airflow records it). Added time = the
median of the per-pair differences (traced minus plain; a pair runs back to back, so noise from other
processes on the machine mostly cancels), with its interquartile range.

Cases: an SQLite store; a PostgreSQL store (``MLTRACE_BENCH_PG_URI``, default
postgresql://postgres@127.0.0.1:5432/postgres, must allow CREATE DATABASE; dropped at the end); a dead
store (nothing listens on the port: the run is spooled); a hung store (the server accepts and never
answers; ``[mltrace] timeout`` bounds the try). "cold" is the first write in a fresh process (what each
try pays under LocalExecutor/Celery, where every try is a new process): connection lookup, engine, first
connect and schema check, the write.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("MLTRACE_BENCH_PG_URI", "postgresql://postgres@127.0.0.1:5432/postgres")

DAG_FILE = """
from datetime import datetime
from pathlib import Path

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from mltrace_airflow.operators import TracedPythonOperator

OUT = {out!r}


def work(path):
    Path(path).write_text("x" * 1000)
    return path


def pairs(dag_id, n):
    with DAG(dag_id, schedule=None, start_date=datetime(2025, 1, 1), catchup=False) as dag:
        for i in range(n):
            PythonOperator(task_id=f"t{{i:03d}}_plain", python_callable=work, op_args=[f"{{OUT}}/p{{i}}.txt"])
            TracedPythonOperator(
                task_id=f"t{{i:03d}}_traced",
                python_callable=work,
                op_args=[f"{{OUT}}/t{{i}}.txt"],
                inputs=[f"{{OUT}}/config.yaml", "s3://bucket/raw/{{{{ ds }}}}.csv"],
                outputs=[f"{{OUT}}/t{{i}}.txt"],
            )
    return dag


bench_pairs = pairs("bench_pairs", {pairs})
bench_pairs_small = pairs("bench_pairs_small", {small})
"""


def setup_airflow(pairs: int, small: int) -> Path:
    home = Path(tempfile.mkdtemp(prefix="mltrace-bench-airflow-"))
    (home / "dags").mkdir()
    (home / "out").mkdir()
    (home / "dags" / "bench_dag.py").write_text(
        DAG_FILE.format(out=str(home / "out"), pairs=pairs, small=small)
    )
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__MLTRACE__SPOOL_DIR": str(home / "spool"),
        }
    )
    for name in list(os.environ):
        if name.startswith("AIRFLOW_CONN_") or name in ("MLTRACE_DB_URI",):
            del os.environ[name]
    return home


class HungServer:
    """Accepts TCP connections on loopback and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def conn_env(uri: str) -> str:
    if uri.startswith("sqlite:///"):
        return json.dumps({"conn_type": "sqlite", "host": uri[len("sqlite:///") :]})
    return uri


def run_pairs(dag, store_uri: str, rounds: int = 1) -> dict[str, list[float]]:
    """Durations (s) of the plain and the traced tries, pair by pair, over ``rounds`` DAG runs."""
    os.environ["AIRFLOW_CONN_MLTRACE_DEFAULT"] = conn_env(store_uri)
    durations: dict[str, list[float]] = {"plain": [], "traced": []}
    for _ in range(rounds):
        dr = dag.test()
        assert dr.state == "success", f"{dag.dag_id}: {dr.state}"
        for ti in sorted(dr.get_task_instances(), key=lambda ti: ti.task_id):
            durations[ti.task_id.rsplit("_", 1)[1]].append((ti.end_date - ti.start_date).total_seconds())
    return durations


def summary(name: str, d: dict[str, list[float]], extra: str = "") -> str:
    """Medians, and the added time as the median of per-pair differences (a pair runs back to back, so
    machine noise mostly cancels)."""
    plain, traced = statistics.median(d["plain"]), statistics.median(d["traced"])
    added = sorted(t - p for p, t in zip(d["plain"], d["traced"], strict=True))
    q1, q3 = added[len(added) // 4], added[(3 * len(added)) // 4]
    return (
        f"| {name:<24} | {len(added):>5} | {plain * 1000:>8.1f} | {traced * 1000:>9.1f} | "
        f"{statistics.median(added) * 1000:>+8.1f} | {q1 * 1000:>+6.1f} .. {q3 * 1000:>+6.1f} |{extra}"
    )


COLD = textwrap.dedent(
    """
    import json, os, sys, time
    from datetime import datetime, timezone
    import airflow.sdk  # as in a task process: Airflow is loaded before the task starts
    from mltrace_airflow.operators.delivery import deliver_try
    from mltrace_core import ExternalIdentity, RunRecord
    now = datetime.now(timezone.utc)
    rec = RunRecord(key="airflow:cold:%s:t:-1:1" % sys.argv[1], component="cold.t", start=now, end=now,
                    external=ExternalIdentity("cold", sys.argv[1], "t", 1, -1),
                    inputs=(("in.csv", None, None),), outputs=(("out.csv", None, None),))
    t = time.perf_counter()
    deliver_try(rec)
    print(time.perf_counter() - t)
    """
)


def cold_write(store_uri: str, samples: int) -> list[float]:
    env = dict(os.environ, AIRFLOW_CONN_MLTRACE_DEFAULT=conn_env(store_uri))
    out = []
    for _ in range(samples):
        result = subprocess.run(
            [sys.executable, "-c", COLD, uuid.uuid4().hex],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(float(result.stdout.strip().splitlines()[-1]))
    return out


def pg_database():
    from sqlalchemy import create_engine, text

    from mltrace_core.config import normalize_uri

    name = f"mltrace_bench_af_{uuid.uuid4().hex[:8]}"
    engine = create_engine(
        normalize_uri(PG_ADMIN), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return engine, name, PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=40, help="plain/traced task pairs per case (default 40)")
    parser.add_argument("--rounds", type=int, default=3, help="DAG runs per case (default 3)")
    parser.add_argument(
        "--hung-pairs", type=int, default=4, help="pairs for the hung store (each costs the bound)"
    )
    parser.add_argument("--timeout", type=float, default=2.0, help="[mltrace] timeout for the hung store (s)")
    parser.add_argument("--cold", type=int, default=8, help="fresh processes per cold-write sample")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    home = setup_airflow(args.pairs, args.hung_pairs)
    started = time.monotonic()
    from airflow.dag_processing.dagbag import BundleDagBag
    from airflow.utils import db

    db.initdb()
    bag = BundleDagBag(str(home / "dags"), bundle_path=home / "dags", bundle_name="dags-folder")
    assert not bag.import_errors, bag.import_errors
    import mltrace_core

    sqlite_uri = f"sqlite:///{home}/mltrace.db"
    run_pairs(bag.dags["bench_pairs_small"], sqlite_uri)  # Airflow's one-time warm-up, not measured

    print(
        f"Tracing overhead per task try: {args.rounds} x {args.pairs} plain/traced pairs per case, dag.test()"
    )
    print(
        f"(Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; medians in ms)\n"
    )
    print("| store                    | pairs | plain ms | traced ms | added ms | added IQR ms     |")
    print("|--------------------------|-------|----------|-----------|----------|------------------|")
    rows = []
    d = run_pairs(bag.dags["bench_pairs"], sqlite_uri, args.rounds)
    rows.append(summary("SQLite", d))
    cases = [("SQLite", sqlite_uri)]
    pg = None
    if not args.no_postgres:
        try:
            pg = pg_database()
        except Exception as exc:  # no server: say so, go on
            rows.append(f"| PostgreSQL: skipped ({str(exc).splitlines()[0][:60]}) |")
    if pg:
        d = run_pairs(bag.dags["bench_pairs"], pg[2], args.rounds)
        rows.append(summary("PostgreSQL", d))
        cases.append(("PostgreSQL", pg[2]))
    for row in rows:
        print(row, flush=True)

    dead = f"postgresql://postgres@127.0.0.1:{dead_port()}/mltrace"
    d = run_pairs(bag.dags["bench_pairs"], dead, args.rounds)
    spooled = len(mltrace_core.Spool(home / "spool" / "mltrace_default").pending())
    print(summary("dead store (refused)", d, f" {spooled} runs spooled"), flush=True)
    shutil.rmtree(home / "spool", ignore_errors=True)

    server = HungServer()
    os.environ["AIRFLOW__MLTRACE__TIMEOUT"] = str(args.timeout)
    try:
        d = run_pairs(bag.dags["bench_pairs_small"], f"postgresql://postgres@127.0.0.1:{server.port}/mltrace")
    finally:
        server.close()
        del os.environ["AIRFLOW__MLTRACE__TIMEOUT"]
    print(summary(f"hung store, bound {args.timeout:g} s", d), flush=True)

    print(f"\nFirst write in a fresh process (one task try under LocalExecutor), {args.cold} processes:")
    for name, uri in cases:
        samples = cold_write(uri, args.cold)
        print(
            f"  {name:<11} median {statistics.median(samples) * 1000:6.1f} ms, max {max(samples) * 1000:6.1f} ms"
        )

    store = mltrace_core.Store(sqlite_uri)
    logged = len(store.get_recent_runs(10_000))
    assert logged >= args.pairs, f"only {logged} runs logged on SQLite"
    if pg:
        pg[0].dispose()
        engine, name, _ = pg
        from sqlalchemy import text

        mltrace_core.Store(pg[2]).dispose()
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
    shutil.rmtree(home, ignore_errors=True)
    print(f"\n(total {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
