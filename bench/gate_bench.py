"""The lineage gate's check against the trace it walks, side by side: the figure docs/actions.md quotes.

    python bench/gate_bench.py                      (SQLite and PostgreSQL, ~2 min)
    python bench/gate_bench.py --backends sqlite

A 10,001-run lineage (bench/versions_bench.py's layered DAG: 100 layers of 100 runs, each reading 3
versioned outputs of the layer below), with 3 flagged pointers in it and one outside it. Timed: the trace
of the output, and ``Store.check`` of it with every check on (flags, failed runs, staleness, failed tests,
``max_input_age``, a required component). The contract: the check costs at most the trace plus 10 %.
Medians. PostgreSQL: MLTRACE_BENCH_PG_URI must allow CREATE DATABASE (see core_bench.py).
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bulk  # noqa: E402
import versions_bench  # noqa: E402
from core_bench import fresh, timed  # noqa: E402

import mltrace_core  # noqa: E402


def bench(store) -> dict[str, str]:
    store.upgrade()
    bulk.insert(store, versions_bench.two_lineages(), versions_bench.COLUMNS)
    for name in ("L10/5", "L60/7", "L99/1"):
        store.flag_output_id(name)
    store.get_pointer("elsewhere.csv", create=True)
    store.flag_output_id("elsewhere.csv")
    options = {"max_input_age": timedelta(days=3650), "require_components": ["layer3", "sink"]}
    result = store.check("final", **options)
    assert result.runs_checked == 10_001 and not result.passed
    assert {r.check for r in result.reasons} == {"flagged"}, result.reasons[:3]
    trace = timed(lambda: store.trace("final"), 9)
    check = timed(lambda: store.check("final", **options), 9)
    return {
        "trace of the output (10,001 runs)": f"{trace:.0f} ms",
        "check of the output (every check on, 3 flags in the trace)": f"{check:.0f} ms",
        "check / trace": f"{check / trace:.2f}×",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="lineage gate benchmark")
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    results: dict[str, dict[str, str]] = {}
    for backend in args.backends.split(","):
        print(f"[{backend}] ...", file=sys.stderr, flush=True)
        with fresh(backend) as uri:
            store = mltrace_core.Store(uri, timeout=600)
            results[backend] = bench(store)
            store.dispose()
    backends = list(results)
    print("| measurement | " + " | ".join(backends) + " |")
    print("|---|" + "---|" * len(backends))
    for key in results[backends[0]]:
        print(f"| {key} | " + " | ".join(results[b].get(key, "") for b in backends) + " |")


if __name__ == "__main__":
    main()
