"""OpenLineage ingestion speed: the figures of docs/openlineage.md (issue 11's targets).

    python bench/openlineage_ingest.py                   (all three)
    python bench/openlineage_ingest.py --only event      (or batch, or file)

1. ``event``: one event's server time on PostgreSQL -- ``POST /mltrace/api/v1/lineage`` through the web app
   (routing, the ingestion key, reading and parsing the body, merging, the store), the app's own
   ``Server-Timing`` figure, for task runs sent as a START then a COMPLETE (3 inputs, 2 outputs each, as
   the Airflow provider sends them, the ``airflow`` facet included), into a store that already holds
   ``--history`` such runs. Target: at most 10 ms.
2. ``batch``: a batch of 10,000 task runs (START + COMPLETE, 3 inputs / 2 outputs each: 20,000 events)
   through ``POST /mltrace/api/v1/lineage/batch`` on PostgreSQL, in requests of ``--batch-size`` events;
   events per second of wall time, parsing and HTTP handling included. Target: at least 1,000 events/s.
3. ``file``: ``mltrace ingest`` of a JSON Lines file of 100,000 events (50,000 runs) into SQLite, the
   command in a process of its own; wall time. Target: at most 60 s.

Each figure comes with the CPU time the work cost (this process, its ``mltrace ingest`` child, and the
PostgreSQL server processes of the scratch database, read from /proc) and the load average: on a machine
shared with other work wall time follows the load, CPU time does not.

Requests go through Starlette's TestClient (the app in this process, no network). PostgreSQL:
MLTRACE_BENCH_PG_URI (default postgresql://postgres@127.0.0.1:5432/postgres) must allow CREATE DATABASE;
the scratch databases are dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from core_bench import PG_ADMIN, fresh  # noqa: E402

KEY = "bench-ingestion-key-0123456789"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
BIN = Path(sys.executable).parent


def task_events(i: int, dag: str = "bench_dag") -> list[dict]:
    """The START and COMPLETE of task run ``i``: 3 inputs (what runs i-1, i-2, i-3 wrote), 2 outputs."""
    run_id = str(uuid.uuid4())
    task = f"task_{i % 100}"
    facets = {
        "airflow": {
            "dag": {"dag_id": dag},
            "dagRun": {"dag_id": dag, "run_id": f"manual__{i // 100}"},
            "task": {"task_id": task},
            "taskInstance": {"try_number": 1, "log_url": f"http://airflow/dags/{dag}/tasks/{task}"},
        },
        "parent": {"run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "bench", "name": dag}},
    }
    inputs = [{"namespace": "file", "name": f"/data/{max(i - k, 0)}/part-{k % 2}.csv"} for k in (1, 2, 3)]
    outputs = [{"namespace": "file", "name": f"/data/{i}/part-{k}.csv"} for k in (0, 1)]

    def event(kind: str, minute: float, ins, outs) -> dict:
        return {
            "eventType": kind,
            "eventTime": (T0 + timedelta(minutes=minute)).isoformat(),
            "producer": "https://github.com/apache/airflow/tree/providers-openlineage/2.20.3",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": run_id, "facets": facets},
            "job": {"namespace": "bench", "name": f"{dag}.{task}"},
            "inputs": ins,
            "outputs": outs,
        }

    return [event("START", 2 * i, inputs, []), event("COMPLETE", 2 * i + 1, [], outputs)]


def cpu_seconds(uri: str | None = None) -> float:
    """CPU time used so far by this process (every thread) and, given a PostgreSQL store, by the server
    processes serving its database (same machine: /proc). On a machine shared with other work the wall
    time depends on the load; the CPU time the work costs does not, so both are reported."""
    used = time.process_time()
    if uri is None or not uri.startswith("postgresql"):
        return used
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :db"), {"db": uri.rsplit("/", 1)[1]}
        ).scalars()
        tick = os.sysconf("SC_CLK_TCK")
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            used += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    admin.dispose()
    return used


def client(uri: str):
    import logging

    logging.getLogger("httpx2").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    os.environ["AIRFLOW__MLTRACE__INGESTION_KEY"] = KEY
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    import mltrace_core
    from mltrace_airflow.web.app import create_app

    store = mltrace_core.Store(uri, timeout=600)
    store.get_tags()  # the schema, before timing
    parent = FastAPI()
    parent.mount("/mltrace", create_app(lambda: store))
    return store, TestClient(parent)


HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}


def bench_event(history: int, count: int) -> dict:
    with fresh("postgres") as uri:
        store, http = client(uri)
        with http:
            for start in range(0, history, 1000):  # a store with some history
                body = [e for i in range(start, min(start + 1000, history)) for e in task_events(i)]
                assert (
                    http.post(
                        "/mltrace/api/v1/lineage/batch", content=json.dumps(body), headers=HEADERS
                    ).status_code
                    == 200
                )
            times: dict[str, list[float]] = {"START": [], "COMPLETE": []}
            cpu0 = cpu_seconds(uri)
            for i in range(history, history + count):
                for event in task_events(i):
                    r = http.post("/mltrace/api/v1/lineage", content=json.dumps(event), headers=HEADERS)
                    assert r.status_code == 201, r.text
                    times[event["eventType"]].append(float(r.headers["server-timing"].split("dur=")[1]))
            cpu = cpu_seconds(uri) - cpu0
        store.dispose()
    every = times["START"] + times["COMPLETE"]
    return {
        "median_ms": statistics.median(every),
        "p95_ms": statistics.quantiles(every, n=20)[-1],
        "start_median_ms": statistics.median(times["START"]),
        "complete_median_ms": statistics.median(times["COMPLETE"]),
        "events": len(every),
        "cpu_ms_per_event": 1000 * cpu / len(every),
        "history_runs": history,
        "load_average": os.getloadavg()[0],
    }


def bench_batch(runs: int, batch_size: int) -> dict:
    events = [e for i in range(runs) for e in task_events(i)]
    with fresh("postgres") as uri:
        store, http = client(uri)
        with http:
            bodies = [json.dumps(events[s : s + batch_size]) for s in range(0, len(events), batch_size)]
            http.post("/mltrace/api/v1/lineage/batch", content="[]", headers=HEADERS)  # connections open
            cpu0, own0, t0 = cpu_seconds(uri), time.process_time(), time.perf_counter()
            for body in bodies:
                r = http.post("/mltrace/api/v1/lineage/batch", content=body, headers=HEADERS)
                assert r.status_code == 200 and r.json()["status"] == "success", r.text[:300]
            elapsed = time.perf_counter() - t0
            cpu, own = cpu_seconds(uri) - cpu0, time.process_time() - own0
        written = len(store.get_recent_run_ids(10_000))
        store.dispose()
    assert written == min(runs, 10_000)
    return {
        "events": len(events),
        "seconds": elapsed,
        "events_per_s": len(events) / elapsed,
        "cpu_s": cpu,
        "cpu_s_postgres": cpu - own,
        "events_per_cpu_s": len(events) / cpu,
        "batch_size": batch_size,
        "load_average": os.getloadavg()[0],
    }


def bench_file(runs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.jsonl"
        with open(path, "w") as fh:
            for i in range(runs):
                for event in task_events(i):
                    fh.write(json.dumps(event) + "\n")
        uri = f"sqlite:///{tmp}/store.db"
        subprocess.run(
            [str(BIN / "mltrace"), "--db-uri", uri, "db", "upgrade"], check=True, capture_output=True
        )
        t0, child0 = time.perf_counter(), _children_cpu()
        done = subprocess.run(
            [str(BIN / "mltrace"), "--db-uri", uri, "ingest", str(path)], capture_output=True, text=True
        )
        elapsed, cpu = time.perf_counter() - t0, _children_cpu() - child0
        assert done.returncode == 0, done.stderr[-2000:]
        return {
            "events": 2 * runs,
            "seconds": elapsed,
            "events_per_s": 2 * runs / elapsed,
            "cpu_s": cpu,
            "load_average": os.getloadavg()[0],
            "file_mb": path.stat().st_size / 1e6,
            "output": done.stdout.strip(),
        }


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description="OpenLineage ingestion benchmark")
    parser.add_argument("--only", choices=("event", "batch", "file"))
    parser.add_argument(
        "--history", type=int, default=10_000, help="runs in the store before timing single events"
    )
    parser.add_argument("--events", type=int, default=200, help="task runs sent one event at a time")
    parser.add_argument("--batch-runs", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=2_000, help="events per batch request")
    parser.add_argument("--file-runs", type=int, default=50_000)
    args = parser.parse_args()
    results = {}
    if args.only in (None, "event"):
        results["event"] = bench_event(args.history, args.events)
        print(f"one event (PostgreSQL): {results['event']}", file=sys.stderr, flush=True)
    if args.only in (None, "batch"):
        results["batch"] = bench_batch(args.batch_runs, args.batch_size)
        print(f"batch (PostgreSQL): {results['batch']}", file=sys.stderr, flush=True)
    if args.only in (None, "file"):
        results["file"] = bench_file(args.file_runs)
        print(f"mltrace ingest (SQLite): {results['file']}", file=sys.stderr, flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="mltrace-bench-airflow-"))
    main()
