"""The mltrace tab's speed: every page and JSON API route with 100,000 runs in the store, and the trace of
a 1,000-node lineage, on SQLite and PostgreSQL. The figures the README quotes.

    python bench/ui_bench.py                      (both backends)
    python bench/ui_bench.py --backends sqlite --runs 20000

Server time is the app's own ``Server-Timing`` figure (routing, auth dependency, store queries, template
or JSON rendering), median of ``--repeat`` requests after one warm-up, through Starlette's TestClient.
Auth is Airflow's real dependency with a SimpleAuthManager admin (the API server's FAB check adds a
cached permission lookup). The store: bench/bulk.py's synthetic churn history, then a 1,000-deep chain,
one Airflow DAG run, tags and three flagged outputs written through the public API; on PostgreSQL then
VACUUM ANALYZE, as autovacuum would have done on a live store.
PostgreSQL: MLTRACE_BENCH_PG_URI (default postgresql://postgres@127.0.0.1:5432/postgres) must allow
CREATE DATABASE; the scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).parent))
import bulk  # noqa: E402
from core_bench import fresh, record  # noqa: E402

import mltrace_core  # noqa: E402
from mltrace_core import ExternalIdentity  # noqa: E402

CHAIN = 1000
DAG_RUN = "manual__2025-06-01T00:00:00+00:00"
LIMIT_MS = {"trace": 300.0}  # the bounds: 300 ms for the 1,000-node trace, 100 ms for the rest
DEFAULT_LIMIT_MS = 100.0


def fill(store: mltrace_core.Store, runs: int) -> dict:
    """``runs`` runs in all: the bulk history, then (through the public API) the chain and the rest."""
    t0 = time.perf_counter()
    extra = CHAIN + 5
    info = bulk.load(store, runs - extra)
    minute0 = int((timedelta(minutes=10) * (runs // 5) + timedelta(days=1)).total_seconds() // 60)
    t1 = time.perf_counter()
    for i in range(CHAIN):  # c0 -> hop -> c1 -> hop -> ... -> c1000: a 1,000-run lineage
        store.log(record(f"ui-chain-{i}", "hop", minute0 + i, [f"c{i}", "cfg.yaml"], [f"c{i + 1}"]))
    chain_s = time.perf_counter() - t1
    for k in range(5):
        run = mltrace_core.ComponentRun(f"bench_dag.task_{k}")
        start = bulk.T0 + timedelta(minutes=minute0 + CHAIN + k)
        run.set_start_timestamp(start)
        run.set_end_timestamp(start + timedelta(seconds=30))
        run.add_inputs([f"c{CHAIN}"] if k == 0 else [f"dag/out{k - 1}"])
        run.add_output(f"dag/out{k}")
        run.external = ExternalIdentity("bench_dag", DAG_RUN, f"task_{k}", 1, -1, None)
        store.log(run)
    for family in range(3):
        store.tag_component(f"churn_f{family}.train", ["model"])
    last = (runs - extra) // 100 - 1
    for family in range(3):
        store.flag_output_id(f"predictions/f{family}/{last}.csv")
    if store.engine.dialect.name == "postgresql":
        # A live store is autovacuumed; freshly bulk-loaded pages are not yet all-visible, which turns
        # index-only scans (run counts per component) into heap scans.
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    return {
        "bulk": info,
        "chain_seconds": chain_s,
        "seconds": time.perf_counter() - t0,
        "late_prediction": f"predictions/f3/{last}.csv",
    }


def routes(filled: dict, run_id: int) -> list[tuple[str, str]]:
    late = quote(filled["late_prediction"], safe="")
    ti = f"dag_id=bench_dag&run_id={quote(DAG_RUN, safe='')}"
    pages = [
        ("home (50 recent runs)", "/"),
        ("history (10 runs)", "/history/churn_f11.train"),
        ("history (100 runs)", "/history/churn_f11.train?limit=100"),
        ("inspect", f"/runs/{run_id}"),
        ("trace, late prediction", f"/trace?output={late}"),
        ("trace, 1,000-node lineage", f"/trace?output=c{CHAIN}"),
        ("downstream", f"/downstream?pointer={quote('data/f3/raw/10.csv', safe='')}"),
        ("tag", "/tags/model"),
        ("tags", "/tags"),
        ("components", "/components"),
        ("review (3 flagged)", "/review"),
        ("task-instance tab", f"/ti?{ti}&task_id=task_2&map_index=%7BMAP_INDEX%7D"),
        ("DAG-run tab", f"/dagrun?{ti}"),
    ]
    api = [
        ("api recent (20)", "/api/recent"),
        ("api history (10)", "/api/history/churn_f11.train"),
        ("api runs/{id}", f"/api/runs/{run_id}"),
        ("api trace, late prediction", f"/api/trace?output={late}"),
        ("api trace, 1,000-node lineage", f"/api/trace?output=c{CHAIN}"),
        ("api downstream", f"/api/downstream?pointer={quote('data/f3/raw/10.csv', safe='')}"),
        ("api tags/{tag}", "/api/tags/model"),
        ("api tags", "/api/tags"),
        ("api components", "/api/components"),
        ("api review", "/api/review"),
        ("api task-runs", f"/api/task-runs?{ti}"),
    ]
    return pages + api


def measure(client, path: str, repeat: int) -> tuple[float, float]:
    """Median server time and median wall time, in ms."""
    r = client.get("/mltrace" + path)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    server, wall = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = client.get("/mltrace" + path)
        wall.append((time.perf_counter() - t0) * 1000)
        server.append(float(r.headers["server-timing"].split("dur=")[1]))
    return statistics.median(server), statistics.median(wall)


def bench(uri: str, runs: int, repeat: int) -> tuple[dict, list[tuple[str, float, float]]]:
    from airflow.api_fastapi import app as airflow_app
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from mltrace_airflow.web.app import create_app

    store = mltrace_core.Store(uri, timeout=600)
    filled = fill(store, runs)
    airflow_app._AuthManagerState.instance = SimpleAuthManager()
    app = create_app(lambda: store)
    app.dependency_overrides[get_user] = lambda: SimpleAuthManagerUser(username="bench", role="admin")
    parent = FastAPI()
    parent.mount("/mltrace", app)
    run_id = store.get_recent_run_ids(1)[0] - runs // 2
    rows = []
    with TestClient(parent) as client:
        for label, path in routes(filled, run_id):
            server, wall = measure(client, path, repeat)
            rows.append((label, server, wall))
            print(f"  {label}: {server:.1f} ms", file=sys.stderr, flush=True)
    total = len(store.get_recent_run_ids(10_000)) if runs <= 10_000 else runs
    filled["runs"] = total
    store.dispose()
    return filled, rows


def main() -> None:
    parser = argparse.ArgumentParser(description="mltrace tab benchmark")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    results = {}
    for backend in args.backends.split(","):
        print(f"[{backend}] filling {args.runs:,} runs ...", file=sys.stderr, flush=True)
        with fresh(backend) as uri:
            results[backend] = bench(uri, args.runs, args.repeat)
    backends = list(results)
    print(f"Server time, median of {args.repeat}, with {args.runs:,} runs in the store:\n")
    print("| page / route | " + " | ".join(backends) + " |")
    print("|---|" + "---|" * len(backends))
    over = []
    labels = [label for label, _, _ in results[backends[0]][1]]
    for i, label in enumerate(labels):
        cells = []
        for b in backends:
            server = results[b][1][i][1]
            limit = LIMIT_MS["trace"] if "1,000-node" in label else DEFAULT_LIMIT_MS
            if server > limit:
                over.append(f"{b} {label}: {server:.1f} ms > {limit:.0f} ms")
            cells.append(f"{server:.1f} ms")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    for b in backends:
        filled = results[b][0]
        bulk_info = filled["bulk"]
        print(
            f"{b}: generated {args.runs:,} runs ({bulk_info['links']:,} pointer links) in {filled['seconds']:.0f} s "
            f"(bulk load {bulk_info['seconds']:.0f} s, the 1,000-run chain through Store.log {filled['chain_seconds']:.1f} s)"
        )
    if over:
        print("\nOVER THE BOUND:\n  " + "\n  ".join(over))
        sys.exit(1)


if __name__ == "__main__":
    main()
