"""The core's speed, on SQLite and PostgreSQL: the figures the README quotes.

    make bench          (= python bench/core_bench.py)
    python bench/core_bench.py --backends sqlite --history-runs 20000   (quicker)

For each backend, in a fresh store: log latency per run (3 inputs, 2 outputs) and ingest throughput
through the public API; trace of a 1,000-deep chain and of a 10,000-run DAG (latency and the number of
SQL statements, which must not grow with the lineage); then recent/history/inspect with 100,000 runs in
the store (the bulk of them loaded by bench/bulk.py). PostgreSQL: MLTRACE_BENCH_PG_URI (default
postgresql://postgres@127.0.0.1:5432/postgres) must allow CREATE DATABASE; a scratch database is dropped
at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, event, text

sys.path.insert(0, str(Path(__file__).parent))
import bulk  # noqa: E402

import mltrace_core  # noqa: E402
from mltrace_core import RunRecord, db  # noqa: E402
from mltrace_core.config import normalize_uri  # noqa: E402

PG_ADMIN = os.environ.get("MLTRACE_BENCH_PG_URI", "postgresql://postgres@127.0.0.1:5432/postgres")


def record(key, component, minute, ins, outs, length=0.5):
    start = bulk.T0 + timedelta(minutes=minute)
    return RunRecord(
        key=key,
        component=component,
        start=start,
        end=start + timedelta(minutes=length),
        inputs=tuple((p, None, None) for p in ins),
        outputs=tuple((p, None, None) for p in outs),
    )


def chain_records():
    """The 1,000-deep chain: each run reads 3 and writes 2 pointers (as the prototype baseline)."""
    for i in range(1000):
        yield record(f"chain-{i}", "hop", i, [f"c{i}", "cfg.yaml", "vocab.txt"], [f"c{i + 1}", f"m{i}.json"])


def dag_records(prefix: str = "", sink: bool = True):
    """The 10,000-run DAG (100 layers of 100 runs, each reading 3 outputs of the layer below), then its
    sink, which reads the last layer and writes ``dag-final``. ``prefix``: before every key and pointer
    name, for a second DAG of its own in the same store."""
    rng = random.Random(7)
    for layer in range(100):
        for j in range(100):
            ins = (
                [f"{prefix}L{layer - 1}/{(j + k * rng.randint(1, 33)) % 100}" for k in range(3)]
                if layer
                else []
            )
            yield record(
                f"{prefix}dag-{layer}-{j}", f"layer{layer % 10}", 2000 + layer, ins, [f"{prefix}L{layer}/{j}"]
            )
    if sink:
        yield record(
            f"{prefix}dag-sink",
            "sink",
            2200,
            [f"{prefix}L99/{j}" for j in range(100)],
            [f"{prefix}dag-final"],
        )


class StatementCounter:
    """Statements sent to the database, counted at the driver: the fast paths (the one-round-trip log, the
    one-statement trace, the plain-tuple reads) speak to it below SQLAlchemy, whose events never see
    them. psycopg2: each ``execute`` of a cursor, one round trip (a string of several statements, as the
    trace's planner settings and its prepared statement, counts once); sqlite3: each statement it runs,
    BEGIN and COMMIT included, those of triggers not. Connections made before are closed, so that every
    one is counted. Only inside :meth:`counting`: sqlite3 spells out each statement it traces with its
    parameters, which would slow the timed work down."""

    def __init__(self, engine):
        self.count = 0
        self.active = False
        self._sqlite: list[sqlite3.Connection] = []
        event.listen(engine, "connect", self._attach)
        db.close_held(engine)
        engine.dispose()

    @contextmanager
    def counting(self):
        self.active = True
        for conn in self._sqlite:
            conn.set_trace_callback(self._traced)
        try:
            yield
        finally:
            self.active = False
            for conn in self._sqlite:
                conn.set_trace_callback(None)

    def _attach(self, dbapi_connection, _record):
        if isinstance(dbapi_connection, sqlite3.Connection):
            self._sqlite.append(dbapi_connection)
            if self.active:
                dbapi_connection.set_trace_callback(self._traced)
            return
        import psycopg2.extensions  # PostgreSQL's driver: only where there is a PostgreSQL store

        counter = self

        class Counting(psycopg2.extensions.cursor):
            def execute(self, query, params=None):
                counter.count += counter.active
                return super().execute(query, params)

            def executemany(self, query, params):
                counter.count += counter.active
                return super().executemany(query, params)

        dbapi_connection.cursor_factory = Counting

    def _traced(self, statement: str) -> None:
        if not statement.startswith("--"):  # "-- TRIGGER name": a statement of a trigger
            self.count += 1


def timed(fn, repeat=5):
    fn()  # warm caches, compile statements
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def bench_store(store, history_runs: int) -> dict[str, str]:
    out: dict[str, str] = {}
    counter = StatementCounter(store.engine)
    # 1. Logging: a 1,000-deep chain, each run reading 3 and writing 2 pointers (as the prototype baseline).
    latencies = []
    for rec in chain_records():
        t0 = time.perf_counter()
        store.log(rec)
        latencies.append((time.perf_counter() - t0) * 1000)
    out["log one run (3 in, 2 out), median / p95"] = (
        f"{statistics.median(latencies):.2f} / {statistics.quantiles(latencies, n=20)[18]:.2f} ms"
    )
    # 2. Ingest: a 10,000-run DAG: 100 layers of 100 runs, each reading 3 outputs of the layer below.
    t0 = time.perf_counter()
    for rec in dag_records():
        store.log(rec)
    elapsed = time.perf_counter() - t0
    out["ingest throughput (10,001 runs, one process)"] = f"{10001 / elapsed:,.0f} runs/s"
    # 2b. The same DAG again (its own names) through Store.log_many: one transaction per 1,000 runs.
    batch = list(dag_records(prefix="b-", sink=False))
    t0 = time.perf_counter()
    store.log_many(batch)
    out["log_many throughput (10,000 runs, batches of 1,000)"] = (
        f"{len(batch) / (time.perf_counter() - t0):,.0f} runs/s"
    )
    # 3. Traces, with the SQL statements each costs. Statistics first, as autovacuum keeps them on a live
    # PostgreSQL store (11,000 runs logged in a minute are more than its 10 % threshold).
    if store.engine.dialect.name == "postgresql":
        with (
            store.engine.begin() as conn
        ):  # committed: statistics written in a rolled-back transaction vanish
            conn.exec_driver_sql("ANALYZE")
    for label, output in (("trace 1,000-deep chain", "c1000"), ("trace 10,000-run DAG", "dag-final")):
        nodes = len(store.trace(output).nodes)
        before = counter.count
        with counter.counting():
            store.trace(output)
        statements = counter.count - before
        out[f"{label} ({nodes:,} runs)"] = (
            f"{timed(lambda o=output: store.trace(o)):.1f} ms, {statements} SQL statement"
            + ("" if statements == 1 else "s")
        )
    # 4. Reads with history_runs runs in the store: bulk-load the rest into a second store of its own.
    return out


def bench_reads(store, history_runs: int) -> dict[str, str]:
    info = bulk.load(store, history_runs)
    ids = store.get_recent_run_ids(1)
    rng = random.Random(3)
    picks = [rng.randint(1, ids[0]) for _ in range(20)]
    it = iter(picks * 10)
    n = f"{history_runs:,}"
    return {
        f"bulk-load {n} runs ({info['links']:,} pointer links)": f"{info['seconds']:.0f} s",
        f"recent 20 at {n} runs": f"{timed(lambda: store.get_recent_runs(20), 20):.1f} ms",
        f"history 10 at {n} runs": f"{timed(lambda: store.get_history('churn_f7.train', 10), 20):.1f} ms",
        f"inspect at {n} runs": f"{timed(lambda: store.get_component_run_information(next(it)), 20):.1f} ms",
    }


@contextmanager
def fresh(backend: str):
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    name = f"mltrace_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalize_uri(PG_ADMIN), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description="mltrace_core benchmark")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--history-runs", type=int, default=100_000)
    args = parser.parse_args()
    results: dict[str, dict[str, str]] = {}
    for backend in args.backends.split(","):
        print(f"[{backend}] ...", file=sys.stderr, flush=True)
        with fresh(backend) as uri:
            store = mltrace_core.Store(uri, timeout=600)
            results[backend] = bench_store(store, args.history_runs)
            store.dispose()
        with fresh(backend) as uri:
            store = mltrace_core.Store(uri, timeout=600)
            results[backend].update(bench_reads(store, args.history_runs))
            store.dispose()
    backends = list(results)
    print("| measurement | " + " | ".join(backends) + " |")
    print("|---|" + "---|" * len(backends))
    for key in results[backends[0]]:
        cells = [results[b].get(key, "") for b in backends]
        print(f"| {key} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
