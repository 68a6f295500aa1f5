"""What tracing costs an Airflow task try: traced vs plain operator, in the same DAG, for real.

    python bench/airflow_overhead.py                 (SQLite, PostgreSQL if reachable, dead and hung stores)
    python bench/airflow_overhead.py --pairs 20 --no-postgres

A throwaway AIRFLOW_HOME gets a DAG of N independent pairs of tasks doing the same small job (write a
file): one a ``PythonOperator``, one a ``TracedPythonOperator`` with two inputs and one output. The DAG
runs with ``dag.test()`` (in this process, tasks one after another, interleaved plain/traced) and each
task try's duration is read back from Airflow (start to end, as Airflow records it). Added time = the
median of the per-pair differences (traced minus plain; a pair runs back to back, so noise from other
processes on the machine mostly cancels), with its interquartile range.

Two measures: "added per try" compares the tries' durations as Airflow records them (end to end, but
noisy: Airflow's own bookkeeping varies by a few ms); "added in execute" compares the operators'
``execute`` calls, timed from the outside (everything tracing does happens inside ``execute``: inputs,
the run handle, the record, the connection lookup, the write or the spool), so it is the precise figure.

Cases: an SQLite store; a PostgreSQL store (``MLTRACE_BENCH_PG_URI``, default
postgresql://postgres@127.0.0.1:5432/postgres, must allow CREATE DATABASE; dropped at the end); a dead
store (nothing listens on the port: the run is spooled); a hung store (the server accepts and never
answers; ``[mltrace] timeout`` bounds the try); then the same pairs under the LocalExecutor, where every
try is a process of its own and pays the store's first use (engine, connection, schema check) again.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: tests/support
from tests.support.processes import HungServer, free_port, start_api_server, stop_server  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("MLTRACE_BENCH_PG_URI", "postgresql://postgres@127.0.0.1:5432/postgres")

DAG_FILE = """
import json
import os
import time
from datetime import datetime
from pathlib import Path

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from mltrace_airflow.operators import TracedPythonOperator

OUT = {out!r}


def timed(cls):
    # The operator's execute, timed from the outside: everything tracing adds happens inside it.
    class Timed(cls):
        def execute(self, context):
            started = time.perf_counter()
            try:
                return super().execute(context)
            finally:
                took = time.perf_counter() - started
                with open(OUT + "/execute.jsonl", "a") as fh:
                    fh.write(json.dumps([self.dag_id, context["run_id"], self.task_id, took]) + "\\n")

    Timed.__name__ = cls.__name__
    return Timed


Plain, Traced = timed(PythonOperator), timed(TracedPythonOperator)


def work(path):
    Path(path).write_text("x" * 1000)
    return path


def pairs(dag_id, n):
    with DAG(dag_id, schedule=None, start_date=datetime(2025, 1, 1), catchup=False) as dag:
        for i in range(n):
            Plain(task_id=f"t{{i:03d}}_plain", python_callable=work, op_args=[f"{{OUT}}/p{{i}}.txt"])
            Traced(
                task_id=f"t{{i:03d}}_traced",
                python_callable=work,
                op_args=[f"{{OUT}}/t{{i}}.txt"],
                inputs=[f"{{OUT}}/config.yaml", "s3://bucket/raw/{{{{ ds }}}}.csv"],
                outputs=[f"{{OUT}}/t{{i}}.txt"],
            )
    return dag


bench_pairs = pairs("bench_pairs", {pairs})
bench_pairs_small = pairs("bench_pairs_small", {small})
bench_pairs_executor = pairs("bench_pairs_executor", {executor})
"""


def setup_airflow(pairs: int, small: int, executor: int) -> Path:
    home = Path(tempfile.mkdtemp(prefix="mltrace-bench-airflow-"))
    (home / "dags").mkdir()
    (home / "out").mkdir()
    (home / "dags" / "bench_dag.py").write_text(
        DAG_FILE.format(out=str(home / "out"), pairs=pairs, small=small, executor=executor)
    )
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__MLTRACE__SPOOL_DIR": str(home / "spool"),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "1",  # one try at a time: tries do not slow each other down
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex * 2,
        }
    )
    for name in list(os.environ):
        if name.startswith("AIRFLOW_CONN_") or name in ("MLTRACE_DB_URI",):
            del os.environ[name]
    return home


def api_server(home: Path) -> subprocess.Popen:
    """An API server: the execution API that LocalExecutor task processes talk to."""
    port = free_port()
    os.environ["AIRFLOW__API__BASE_URL"] = f"http://127.0.0.1:{port}/"
    return start_api_server(home / "api-server.log", port)


def conn_env(uri: str) -> str:
    if uri.startswith("sqlite:///"):
        return json.dumps({"conn_type": "sqlite", "host": uri[len("sqlite:///") :]})
    return uri


Durations = dict[str, list[float]]  # "plain"/"traced" -> seconds, pair by pair


def run_pairs(
    dag, store_uri: str, out: Path, rounds: int = 1, executor: bool = False
) -> tuple[Durations, Durations]:
    """Per pair, over ``rounds`` DAG runs: each try's duration as Airflow records it, and the time of
    its operator's ``execute``. With ``executor``, every try runs in a LocalExecutor process."""
    os.environ["AIRFLOW_CONN_MLTRACE_DEFAULT"] = conn_env(store_uri)
    tries: Durations = {"plain": [], "traced": []}
    executes: Durations = {"plain": [], "traced": []}
    for _ in range(rounds):
        dr = dag.test(use_executor=executor)
        assert dr.state == "success", f"{dag.dag_id}: {dr.state}"
        for ti in sorted(dr.get_task_instances(), key=lambda ti: ti.task_id):
            tries[ti.task_id.rsplit("_", 1)[1]].append((ti.end_date - ti.start_date).total_seconds())
        timed = {}
        for line in (out / "execute.jsonl").read_text().splitlines():
            dag_id, run_id, task_id, took = json.loads(line)
            if (dag_id, run_id) == (dag.dag_id, dr.run_id):
                timed[task_id] = took
        for task_id in sorted(timed):
            executes[task_id.rsplit("_", 1)[1]].append(timed[task_id])
    return tries, executes


def added(d: Durations) -> list[float]:
    """Per-pair differences, traced minus plain (a pair runs back to back: machine noise mostly cancels)."""
    return sorted(t - p for p, t in zip(d["plain"], d["traced"], strict=True))


HEADER = (
    "| store                    | pairs | try, plain | try, traced | added per try | execute, plain | execute, traced | added in execute (IQR)    |\n"
    "|--------------------------|-------|------------|-------------|---------------|----------------|-----------------|---------------------------|"
)


def summary(name: str, tries: Durations, executes: Durations, extra: str = "") -> str:
    """Median durations in ms; "added" columns are medians of per-pair differences."""

    def ms(x: float, sign: bool = False) -> str:
        return f"{x * 1000:+.1f}" if sign else f"{x * 1000:.1f}"

    a, e = added(tries), added(executes)
    q1, q3 = e[len(e) // 4], e[(3 * len(e)) // 4]
    spread = f"{ms(statistics.median(e), True)} ({ms(q1, True)} .. {ms(q3, True)})"
    return (
        f"| {name:<24} | {len(a):>5} | {ms(statistics.median(tries['plain'])):>10} | "
        f"{ms(statistics.median(tries['traced'])):>11} | {ms(statistics.median(a), True):>13} | "
        f"{ms(statistics.median(executes['plain'])):>14} | {ms(statistics.median(executes['traced'])):>15} | "
        f"{spread:>25} |{extra}"
    )


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
    parser.add_argument(
        "--executor-pairs", type=int, default=12, help="pairs run by the LocalExecutor (0: skip)"
    )
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    home = setup_airflow(args.pairs, args.hung_pairs, args.executor_pairs)
    started = time.monotonic()
    from airflow.dag_processing.dagbag import BundleDagBag
    from airflow.utils import db

    db.initdb()
    bag = BundleDagBag(str(home / "dags"), bundle_path=home / "dags", bundle_name="dags-folder")
    assert not bag.import_errors, bag.import_errors
    import mltrace_core

    sqlite_uri = f"sqlite:///{home}/mltrace.db"
    out = home / "out"
    run_pairs(bag.dags["bench_pairs_small"], sqlite_uri, out)  # Airflow's one-time warm-up, not measured

    print(
        f"Tracing overhead per task try: {args.rounds} x {args.pairs} plain/traced pairs per case, dag.test()"
    )
    print(
        f"(Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; medians in ms)\n"
    )
    print(HEADER)
    rows = []
    rows.append(summary("SQLite", *run_pairs(bag.dags["bench_pairs"], sqlite_uri, out, args.rounds)))
    cases = [("SQLite", sqlite_uri)]
    pg = None
    if not args.no_postgres:
        try:
            pg = pg_database()
        except Exception as exc:  # no server: say so, go on
            rows.append(f"| PostgreSQL: skipped ({str(exc).splitlines()[0][:60]}) |")
    if pg:
        rows.append(summary("PostgreSQL", *run_pairs(bag.dags["bench_pairs"], pg[2], out, args.rounds)))
        cases.append(("PostgreSQL", pg[2]))
    for row in rows:
        print(row, flush=True)

    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/mltrace"
    d = run_pairs(bag.dags["bench_pairs"], dead, out, args.rounds)
    spooled = len(mltrace_core.Spool(home / "spool" / "mltrace_default").pending())
    print(summary("dead store (refused)", *d, f" {spooled} runs spooled"), flush=True)
    shutil.rmtree(home / "spool", ignore_errors=True)

    server = HungServer()
    os.environ["AIRFLOW__MLTRACE__TIMEOUT"] = str(args.timeout)
    try:
        d = run_pairs(
            bag.dags["bench_pairs_small"], f"postgresql://postgres@127.0.0.1:{server.port}/mltrace", out
        )
    finally:
        server.close()
        del os.environ["AIRFLOW__MLTRACE__TIMEOUT"]
    print(summary(f"hung store, bound {args.timeout:g} s", *d), flush=True)

    if args.executor_pairs:
        print(
            f"\nLocalExecutor: every try a process of its own ({args.executor_pairs} pairs, one try at a time)\n"
        )
        print(HEADER)
        server = api_server(home)
        try:
            for name, uri in cases:
                d = run_pairs(bag.dags["bench_pairs_executor"], uri, out, 1, executor=True)
                print(summary(name, *d), flush=True)
        finally:
            stop_server(server)

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
