"""Flags and impact, on SQLite and PostgreSQL: the figures docs/performance.md quotes.

    python bench/flags_bench.py                               (both backends, 100,000 runs around)
    python bench/flags_bench.py --backends postgres --runs 1000000

1. ``impact`` of a pointer with 10,000 downstream runs: ``raw`` (written once, at v1) read by 100 runs,
   under which a layered DAG of 100 layers of 100 runs (each reading 3 outputs of the layer below), every
   run an Airflow task try (100 DAG runs of 100 tasks). Timed: the first page (100 runs, the default),
   one page of all 10,000, by ``NAME@VERSION`` and by ``run:ID``; side by side with ``downstream`` of the
   same pointer (the bare walk, no liveness, no grouping). Target: ≤ 300 ms.
2. The flagged-input check of a traced try (``Store.flags_on``): nothing flagged; a try's 3 inputs, one
   flagged, 100 flags in the store; a try whose upstream is the whole 10,000-run DAG, with only recent data
   flagged and with its oldest data flagged. Side by side with writing a try's run (``Store.log``), with
   nothing flagged and with the 100 flags (the log then keeps what they reach, ``flag_reach``), and the
   flag of the oldest data itself (what it reaches: the 10,000 runs). Target: ≤ 2 ms.

``--runs`` runs of bench/bulk.py's pipelines fill the store around them. Medians.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bulk  # noqa: E402
from core_bench import fresh, timed  # noqa: E402

import mltrace_core  # noqa: E402

COLUMNS = {
    "component_runs": "id, key, component_id, start_ts, end_ts, status, notes, logged_at, "
    "ext_dag_id, ext_run_id, ext_task_id, ext_try_number, ext_map_index",
    "run_inputs": "run_id, pointer_id, version, start_ts",
    "run_outputs": "run_id, pointer_id, version, start_ts, end_ts",
}
LAYERS, WIDTH = 100, 100


def downstream_of_raw(first_run: int, first_pointer: int, first_component: int) -> dict:
    rows: dict[str, list] = {t: [] for t in bulk.TABLES}
    rows["components"] = [(first_component + c, f"impact{c}", "", "bench", bulk.T0) for c in range(10)]
    names = {"raw": first_pointer}
    base = bulk.T0 - timedelta(days=30)
    run = first_run

    def runrow(rid, component, start, end, ext):
        return (rid, f"i-{rid}", component, start, end, "success", "", start, *ext)

    rows["component_runs"].append(runrow(run, first_component, base, base, ("ingest", "r", "ingest", 1, -1)))
    rows["run_outputs"].append((run, first_pointer, "v1", base, base))
    writer = {first_pointer: run}
    for layer in range(LAYERS):
        start = base + timedelta(minutes=2 * layer + 1)
        end = start + timedelta(minutes=1)
        for j in range(WIDTH):
            run += 1
            ext = ("bench_dag", f"run_{j:03d}", f"layer_{layer:03d}", 1, -1)  # DAG run j, one task a layer
            rows["component_runs"].append(runrow(run, first_component + layer % 10, start, end, ext))
            ins = ["raw"] if layer == 0 else [f"I{layer - 1}/{(j + k * 17) % WIDTH}" for k in range(3)]
            for name in dict.fromkeys(ins):
                pid = names[name]
                rows["run_inputs"].append((run, pid, "v1" if name == "raw" else None, start))
                rows["run_dependencies"].append((run, pid, writer[pid]))
            out = f"I{layer}/{j}"
            pid = names.setdefault(out, first_pointer + len(names))
            rows["run_outputs"].append((run, pid, None, start, end))
        for row in rows["run_outputs"][-WIDTH:]:
            writer[row[1]] = row[0]
    rows["pointers"] = [(pid, name, False, bulk.T0) for name, pid in names.items()]
    return rows


def bench(store, runs: int) -> dict[str, str]:
    info = bulk.load(store, runs)
    first_run = runs + 1
    bulk.insert(store, downstream_of_raw(first_run, info["pointers"] + 1, info["components"] + 1), COLUMNS)
    whole = store.impact("raw", 10_000)
    assert whole.total == 10_000 and len(whole.runs) == 10_000 and whole.next is None
    assert len(whole.airflow) == 100 and all(len(a.task_ids) == 100 for a in whole.airflow)
    assert len(store.downstream("raw").nodes) == 10_000
    walk = timed(lambda: store.downstream("raw"), 3)
    first = timed(lambda: store.impact("raw"))
    page = [r.id for r, _ in store.impact("raw").runs]
    loading = timed(lambda: store.get_runs(page))
    out = {
        "downstream of the pointer (10,000 runs, as a trace)": f"{walk:.0f} ms",
        "loading 100 run objects (what `recent -n 100` loads)": f"{loading:.0f} ms",
        "impact NAME, first page (100 runs + 100 DAG runs)": f"{first:.0f} ms ({first / walk:.2f}× downstream)",
        "impact NAME, all 10,000 runs on one page": f"{timed(lambda: store.impact('raw', 10_000)):.0f} ms",
        "impact NAME@VERSION, first page": f"{timed(lambda: store.impact('raw@v1')):.0f} ms",
        "impact run:ID (the writer), first page": f"{timed(lambda: store.impact(f'run:{first_run}')):.0f} ms",
    }
    # The flagged-input check of a try reading 3 inputs: with nothing flagged (the usual case: one probe of
    # the partial index of flagged pointers); with 100 flags, one input flagged; and a try reading the
    # last layer, whose upstream is the whole 10,000-run DAG, with flags only on recent data and with the
    # oldest data flagged (what the walk of before covered whole: all 10,000 runs; flag_reach now holds
    # them, filled when that data is flagged, timed too).
    inputs = [("raw", "v1"), ("I0/5", None), ("I0/6", None)]
    assert store.flags_on(inputs) == []
    none = timed(lambda: store.flags_on(inputs), 50)
    n = [0]

    def log_try():
        n[0] += 1
        run = mltrace_core.ComponentRun("bench.try")
        run.set_start_timestamp(bulk.T0 + timedelta(days=1, seconds=n[0]))
        run.set_end_timestamp(bulk.T0 + timedelta(days=1, seconds=n[0] + 1))
        for name, version in inputs:
            run.add_input(name, version)
        run.add_output(f"bench/out{n[0]}.csv")
        store.log(run)

    write_bare = timed(log_try, 50)
    for i in range(99):
        store.flag(f"I99/{i}", reason="bench")
    deep = [("I99/99", None)]
    assert store.flags_on(deep) == []
    recent = timed(lambda: store.flags_on(deep), 9)
    t0 = time.perf_counter()
    store.flag("raw@v1", reason="bench")  # once: a second flag would be a second hit
    flagging = (time.perf_counter() - t0) * 1000
    assert [f.target for f in store.flags_on(inputs)] == ["raw@v1"]
    check = timed(lambda: store.flags_on(inputs), 50)
    assert [f.target for f in store.flags_on(deep)] == ["raw@v1"]
    whole = timed(lambda: store.flags_on(deep), 9)

    write = timed(log_try, 50)
    out["flagged-input check of a try (3 inputs), nothing flagged"] = f"{none:.2f} ms"
    out["flagged-input check of a try (3 inputs, 100 flags, one input flagged)"] = f"{check:.2f} ms"
    out["flagged-input check, 10,000-run upstream, only recent data flagged"] = f"{recent:.2f} ms"
    out["flagged-input check, 10,000-run upstream, its oldest data flagged"] = f"{whole:.2f} ms"
    out["writing that try's run, nothing flagged, for comparison"] = f"{write_bare:.2f} ms"
    out["writing that try's run, 100 flags (one reaching it)"] = f"{write:.2f} ms"
    out["flagging the oldest data (10,000 runs reached)"] = f"{flagging:.0f} ms"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="flags and impact benchmark")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--runs", type=int, default=100_000, help="runs in the store around the impact")
    args = parser.parse_args()
    results: dict[str, dict[str, str]] = {}
    for backend in args.backends.split(","):
        print(f"[{backend}] ...", file=sys.stderr, flush=True)
        with fresh(backend) as uri:
            store = mltrace_core.Store(uri, timeout=600)
            results[backend] = bench(store, args.runs)
            store.dispose()
    backends = list(results)
    print(f"At {args.runs:,} runs around them:\n")
    print("| measurement | " + " | ".join(backends) + " |")
    print("|---|" + "---|" * len(backends))
    for key in results[backends[0]]:
        print(f"| {key} | " + " | ".join(results[b].get(key, "") for b in backends) + " |")


if __name__ == "__main__":
    main()
