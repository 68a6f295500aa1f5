"""Scale check on PostgreSQL: 1,000,000 runs and ~3,000,000 pointer links (bench/bulk.py), then the
core's reads, a 1,000-deep trace and logging speed, compared with an empty store.

    python bench/scale_bench.py [--runs 1000000]

MLTRACE_BENCH_PG_URI (default postgresql://postgres@127.0.0.1:5432/postgres) must allow CREATE DATABASE;
the scratch database is dropped at the end (pass --keep to keep it, e.g. for bench/ui_bench.py).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bulk  # noqa: E402
from core_bench import fresh, record, timed  # noqa: E402

import mltrace_core  # noqa: E402


def log_chain(store, n: int, minute0: int) -> float:
    """Log an n-deep chain (3 inputs, 2 outputs per run); return the median ms per run."""
    samples = []
    for i in range(n):
        rec = record(
            f"scale-chain-{minute0}-{i}",
            "hop",
            minute0 + i,
            [f"s{i}", "cfg.yaml", "vocab.txt"],
            [f"s{i + 1}", f"sm{i}.json"],
        )
        t0 = time.perf_counter()
        store.log(rec)
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description="mltrace scale check")
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    rows = {}
    with fresh("postgres") as uri:
        empty = mltrace_core.Store(uri, timeout=600)
        rows["log one run, empty store (median)"] = f"{log_chain(empty, 1000, 0):.2f} ms"
        empty.dispose()
    with fresh("postgres") as uri:
        store = mltrace_core.Store(uri, timeout=600)
        info = bulk.load(store, args.runs)
        rows[f"bulk-load {args.runs:,} runs, {info['links']:,} pointer links"] = f"{info['seconds']:.0f} s"
        minute0 = int((timedelta(minutes=10) * (args.runs // 5) + timedelta(days=1)).total_seconds() // 60)
        rows[f"log one run, {args.runs:,} runs in the store (median)"] = (
            f"{log_chain(store, 1000, minute0):.2f} ms"
        )
        rng = random.Random(5)
        picks = iter([rng.randint(1, args.runs) for _ in range(100)])
        rows["recent 20"] = f"{timed(lambda: store.get_recent_runs(20), 20):.1f} ms"
        rows["history 10"] = f"{timed(lambda: store.get_history('churn_f11.train', 10), 20):.1f} ms"
        rows["inspect (random run)"] = (
            f"{timed(lambda: store.get_component_run_information(next(picks)), 20):.1f} ms"
        )
        rows["trace of a 1,000-deep lineage"] = f"{timed(lambda: store.trace('s1000'), 5):.1f} ms"
        last = args.runs // 100 - 1  # the last prediction of family 3: ~50 warm-started trainings deep
        nodes = len(store.trace(f"predictions/f3/{last}.csv").nodes)
        rows[f"trace of a late prediction ({nodes} runs)"] = (
            f"{timed(lambda: store.trace(f'predictions/f3/{last}.csv'), 5):.1f} ms"
        )
        store.dispose()
        if args.keep:
            print(f"kept: {uri}", file=sys.stderr)
            input("press enter to drop the database ")
    print("| measurement (PostgreSQL) | |")
    print("|---|---|")
    for key, value in rows.items():
        print(f"| {key} | {value} |")


if __name__ == "__main__":
    main()
