"""Versions, as-of and diff, on SQLite and PostgreSQL: the figures docs/performance.md quotes.

    python bench/versions_bench.py                         (both backends, 1,000,000 runs: ~15 min)
    python bench/versions_bench.py --backends sqlite --runs 100000      (quicker)
    python bench/versions_bench.py --backends postgres --parts versions --keep mltrace_bench_ver
                                      (loads once, keeps the database; run again: reuses it, ~1 min)
    python bench/versions_bench.py --parts versions --keep NAME --against main
                                      (also: all 10,000 rows by main's versions.py and by this one, in turn)

1. Two 10,000-run lineages of one output: a layered DAG (100 layers of 100 runs, each reading 3 versioned
   outputs of the layer below; 10 components) run twice, the second run writing new versions from layer
   50 up. Timed: the trace of the latest version, of the older one by ``NAME@VERSION``, as of a time
   between the two, from ``run:ID``; and ``diff`` of the two against the two traces it needs.
2. ``versions`` of a pointer written 10,000 times (each version read by one run), in a store of
   ``--runs`` runs (bench/bulk.py's pipelines fill the rest).

Rows go straight into the tables with the edges the lineage rule gives (as bench/bulk.py does), then
ANALYZE. Medians. PostgreSQL: MLTRACE_BENCH_PG_URI must allow CREATE DATABASE (see core_bench.py).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import os
import random
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bulk  # noqa: E402
from core_bench import PG_ADMIN, StatementCounter, fresh, timed  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

import mltrace_core  # noqa: E402

COLUMNS = {
    "run_inputs": "run_id, pointer_id, version, start_ts",
    "run_outputs": "run_id, pointer_id, version, start_ts, end_ts",
}
LAYERS, WIDTH = 100, 100


def two_lineages() -> dict:
    """Rows of the layered DAG run twice (runs 1..20,002). The second run writes the same versions as the
    first below layer 50 and new ones from there up."""
    rows: dict[str, list] = {t: [] for t in bulk.TABLES}
    rows["components"] = [(c + 1, f"layer{c}", "", "bench", bulk.T0) for c in range(10)]
    rows["components"].append((11, "sink", "", "bench", bulk.T0))
    pointer_ids: dict[str, int] = {}
    rng = random.Random(7)
    reads = [
        [[(j + k * rng.randint(1, 33)) % WIDTH for k in range(3)] for j in range(WIDTH)]
        for _ in range(LAYERS)
    ]
    run_id = 0
    for attempt in (0, 1):
        writer: dict[int, tuple[int, str]] = {}
        for layer in range(LAYERS + 1):
            sink = layer == LAYERS
            start = bulk.T0 + timedelta(minutes=2000 * attempt + 2 * layer)
            end = start + timedelta(minutes=1)
            version = "v2" if attempt and layer >= LAYERS // 2 else "v1"
            for j in range(1 if sink else WIDTH):
                run_id += 1
                component = 11 if sink else layer % 10 + 1
                rows["component_runs"].append(
                    (run_id, f"v-{run_id}", component, start, end, "success", "", start)
                )
                ins = (
                    [f"L{layer - 1}/{i}" for i in (range(WIDTH) if sink else reads[layer][j])]
                    if layer
                    else []
                )
                for name in dict.fromkeys(ins):
                    pid = pointer_ids.setdefault(name, len(pointer_ids) + 1)
                    producer, read = writer[pid]
                    rows["run_inputs"].append((run_id, pid, read, start))
                    rows["run_dependencies"].append((run_id, pid, producer))
                out = "final" if sink else f"L{layer}/{j}"
                pid = pointer_ids.setdefault(out, len(pointer_ids) + 1)
                rows["run_outputs"].append((run_id, pid, version, start, end))
            for row in rows["run_outputs"][-(1 if sink else WIDTH) :]:
                writer[row[1]] = (row[0], row[2])
    rows["pointers"] = [(pid, name, False, bulk.T0) for name, pid in pointer_ids.items()]
    return rows


def many_versions(first_run: int, first_pointer: int, first_component: int, n: int) -> dict:
    """``n`` writes of one pointer, each version read by one run that wrote nothing else."""
    rows: dict[str, list] = {t: [] for t in bulk.TABLES}
    rows["components"] = [
        (first_component, "publish", "", "bench", bulk.T0),
        (first_component + 1, "serve", "", "bench", bulk.T0),
    ]
    rows["pointers"] = [(first_pointer, "models/prod.json", False, bulk.T0)]
    base = bulk.T0 - timedelta(days=400)
    for k in range(n):
        writer, reader = first_run + 2 * k, first_run + 2 * k + 1
        start = base + timedelta(minutes=10 * k)
        end, read_at = start + timedelta(minutes=1), start + timedelta(minutes=2)
        rows["component_runs"].append((writer, f"w-{k}", first_component, start, end, "success", "", start))
        rows["component_runs"].append(
            (reader, f"r-{k}", first_component + 1, read_at, read_at, "success", "", read_at)
        )
        rows["run_outputs"].append((writer, first_pointer, f"sha:{k:08x}", start, end))
        rows["run_inputs"].append((reader, first_pointer, None, read_at))
        rows["run_dependencies"].append((reader, first_pointer, writer))
    return rows


def interleaved(fns: dict, repeat: int = 5) -> dict[str, float]:
    """Median ms of each function, the functions taking turns (one warm-up call each first): on a shared
    machine the load drifts, and calls side by side see the same drift, so their ratios hold."""
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeat):
        for key, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            samples[key].append((time.perf_counter() - t0) * 1000)
    return {k: statistics.median(v) for k, v in samples.items()}


def bench_lineages(store) -> dict[str, str]:
    store.upgrade()
    bulk.insert(store, two_lineages(), COLUMNS)
    vacuum(store)
    latest = store.resolve("final")
    assert len(store.trace("final").nodes) == 10_001
    between = bulk.T0 + timedelta(minutes=1500)
    traces = {
        "trace of the latest version (10,001 runs)": lambda: store.trace("final"),
        "trace of NAME@VERSION (the older lineage)": lambda: store.trace("final@v1"),
        "trace --as-of a time between the two": lambda: store.trace("final", as_of=between),
        "trace of run:ID": lambda: store.trace(f"run:{latest.run}"),
    }
    counter = StatementCounter(store.engine)
    statements = {}
    for key, fn in traces.items():
        before = counter.count
        fn()
        statements[key] = counter.count - before
    times = interleaved(traces)
    plain = times["trace of the latest version (10,001 runs)"]
    out = {
        key: f"{ms:.0f} ms ({ms / plain:.2f}×; {statements[key]} SQL statements)" for key, ms in times.items()
    }
    result = store.diff("final@v1", "final")
    assert len(result.changed) == 5_001 and result.first_divergences and not result.only_a
    before = counter.count
    store.diff("final@v1", "final")
    diff_statements = counter.count - before
    pair = interleaved(
        {
            "two": lambda: (store.trace("final@v1"), store.trace("final")),
            "diff": lambda: store.diff("final@v1", "final"),
        }
    )
    two, both = pair["two"], pair["diff"]
    out["the two traces a diff needs"] = f"{two:.0f} ms"
    out["diff of the two 10,001-run lineages (5,001 changed)"] = (
        f"{both:.0f} ms ({both / two:.2f}× the traces; {diff_statements} SQL statements)"
    )
    return out


def bench_versions(store, runs: int, against: str | None = None) -> dict[str, str]:
    n = 10_000
    store.upgrade()  # a kept store (--keep) loaded before a migration gets it here
    if not store.get_recent_run_ids(1):  # a kept store is loaded already
        info = bulk.load(store, runs - 2 * n)
        rows = many_versions(runs - 2 * n + 1, info["pointers"] + 1, info["components"] + 1, n)
        bulk.insert(store, rows, COLUMNS)
        vacuum(store)
    with store.engine.connect() as conn:
        runs = conn.execute(text("SELECT count(*) FROM component_runs")).scalar()
    every = store.versions("models/prod.json")
    assert len(every) == n and all(v.readers == 1 for v in every)
    deep = every[n // 2].run
    total = f"{runs:,}"
    return {
        f"versions of a pointer with 10,000 versions, at {total} runs": (
            f"{timed(lambda: store.versions('models/prod.json'), 20):.1f} ms"
        ),
        "the CPU time of that call, client + database": cpu_time(store),
        **typed_against_text(store),
        **before_and_after(store, against),
        f"its newest 100 versions (one page), at {total} runs": (
            f"{timed(lambda: store.versions('models/prod.json', 100), 20):.1f} ms"
        ),
        f"100 versions from the 5,000th on (a page further down), at {total} runs": (
            f"{timed(lambda: store.versions('models/prod.json', 100, start=deep), 20):.1f} ms"
        ),
        f"trace NAME@VERSION of one of them, at {total} runs": (
            f"{timed(lambda: store.trace('models/prod.json@sha:00000abc'), 20):.1f} ms"
        ),
        f"trace --as-of of it, at {total} runs": (
            f"{timed(lambda: store.trace('models/prod.json', as_of=bulk.T0 - timedelta(days=300)), 20):.1f} ms"
        ),
    }


def vacuum(store) -> None:
    """What autovacuum keeps true of a live store (PostgreSQL 13+ vacuums insert-only tables too): the
    visibility map set, so index-only scans skip the tables. A bulk load leaves it unset."""
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


def cpu_time(store, repeat: int = 40) -> str:
    """CPU milliseconds per call of ``versions`` (10,000 rows): this process's (``process_time``) plus,
    on PostgreSQL, the server process serving the connection (``/proc``, so a server on this machine).
    What the call costs the machine whatever else runs on it: on an idle machine, the wall time's floor."""
    found = in_turn(store, {"now": {}}, repeat)
    return found["now"] if isinstance(found, dict) else found


def typed_against_text(store, repeat: int = 30) -> dict[str, str]:
    """PostgreSQL: all 10,000 rows with the end times typed by psycopg2 (the form before, Python 3.10's)
    and as UTC text parsed by ``fromisoformat`` (now), in turn on one connection: wall and CPU each."""
    if store.engine.dialect.name != "postgresql":
        return {}
    found = in_turn(
        store, {"typed (before)": {"text_times": False}, "text (now)": {"text_times": True}}, repeat
    )
    if not isinstance(found, dict):
        return {}
    return {f"all 10,000 rows, end times {form}, in turn (median wall; CPU)": v for form, v in found.items()}


def before_and_after(store, revision: str | None, repeat: int = 30) -> dict[str, str]:
    """All 10,000 rows by the ``versions`` module of git ``revision`` (e.g. ``main``) and by this
    checkout's, in turn on one session (wall and CPU each): a change's before and after, side by side on
    the same store. The store is at this checkout's schema (an older statement may not use its indexes)."""
    if revision is None:
        return {}
    source = subprocess.run(
        ["git", "show", f"{revision}:mltrace_core/versions.py"],
        cwd=Path(__file__).parent,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    spec = importlib.util.spec_from_loader(f"versions_at_{revision}", loader=None)
    assert spec is not None
    before = importlib.util.module_from_spec(spec)
    exec(compile(source, f"{revision}:mltrace_core/versions.py", "exec"), before.__dict__)
    found = in_turn(store, {f"before ({revision})": {"listing": before.versions}, "after (this)": {}}, repeat)
    if not isinstance(found, dict):
        return {}
    return {f"all 10,000 rows, {form}, in turn (median wall; CPU)": v for form, v in found.items()}


def in_turn(store, forms: dict[str, dict], repeat: int) -> dict[str, str] | str:
    """Each form of the ``versions`` call (keyword arguments; ``listing``: another module's function)
    ``repeat`` times, the forms taking turns on one session: the median wall time and the CPU time per
    call, client + database. Each call starts after a full ``gc.collect()``: the 10,000 records are
    named tuples, which the collector never untracks, so a full collection (~30 ms in this process) falls
    every few calls, in one form's turn or the other's -- a cost of the process, not of the form."""
    from sqlalchemy.orm import Session

    # The module's function, in this thread: Store.versions runs it in a worker thread (the time bound).
    current = importlib.import_module("mltrace_core.versions").versions

    def call_of(kw: dict):
        kw = dict(kw)
        listing = kw.pop("listing", current)
        return lambda: listing(session, "models/prod.json", **kw)

    calls = {form: call_of(kw) for form, kw in forms.items()}
    with Session(store.engine) as session:
        backend = None
        if store.engine.dialect.name == "postgresql":
            backend = session.execute(text("SELECT pg_backend_pid()")).scalar()
        stat = Path(f"/proc/{backend}/stat")
        if backend is not None and not stat.exists():
            return "n/a (server on another machine)"

        def server() -> float:
            if backend is None:
                return 0.0
            fields = stat.read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

        walls: dict[str, list[float]] = {form: [] for form in forms}
        cpu = {form: [0.0, 0.0] for form in forms}
        for call in calls.values():
            call()
        for _ in range(repeat):
            for form, call in calls.items():
                gc.collect()  # not timed: else a full collection lands in whichever form's turn it falls
                t0, c0, s0 = time.perf_counter(), time.process_time(), server()
                call()
                walls[form].append((time.perf_counter() - t0) * 1000)
                cpu[form][0] += time.process_time() - c0
                cpu[form][1] += server() - s0
    out = {}
    for form in forms:
        client, served = (cpu[form][0] / repeat * 1000, cpu[form][1] / repeat * 1000)
        cpu_text = f"{client + served:.1f} ms ({client:.1f} client + {served:.1f} database)"
        out[form] = cpu_text if len(forms) == 1 else f"{statistics.median(walls[form]):.1f} ms; {cpu_text}"
    return out


@contextmanager
def kept(backend: str, name: str):
    """A store that outlives the bench: a PostgreSQL database or a SQLite file named ``name``, created if
    missing, never dropped (drop it by hand). Loading 1,000,000 runs takes minutes; measuring, seconds."""
    if backend == "sqlite":
        yield f"sqlite:///{Path(name).resolve()}.db"
        return
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    parser = argparse.ArgumentParser(description="versions, as-of and diff benchmark")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--runs", type=int, default=1_000_000, help="runs in the store for `versions`")
    parser.add_argument("--parts", default="lineages,versions", help="lineages (1.), versions (2.) or both")
    parser.add_argument(
        "--keep",
        metavar="NAME",
        help="the versions store in a database (SQLite: file) of this name, kept for the next run, which "
        "reuses it instead of loading --runs again",
    )
    parser.add_argument(
        "--against",
        metavar="REV",
        help="also time all 10,000 rows by git REV's mltrace_core/versions.py and this one's, in turn",
    )
    args = parser.parse_args()
    parts = args.parts.split(",")
    results: dict[str, dict[str, str]] = {}
    for backend in args.backends.split(","):
        print(f"[{backend}] ...", file=sys.stderr, flush=True)
        results[backend] = {}
        if "lineages" in parts:
            with fresh(backend) as uri:
                store = mltrace_core.Store(uri, timeout=600)
                results[backend].update(bench_lineages(store))
                store.dispose()
        if "versions" in parts:
            with kept(backend, args.keep) if args.keep else fresh(backend) as uri:
                store = mltrace_core.Store(uri, timeout=600)
                results[backend].update(bench_versions(store, args.runs, args.against))
                store.dispose()
    backends = list(results)
    print(f"load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print("| measurement | " + " | ".join(backends) + " |")
    print("|---|" + "---|" * len(backends))
    for key in results[backends[0]]:
        print(f"| {key} | " + " | ".join(results[b].get(key, "") for b in backends) + " |")


if __name__ == "__main__":
    main()
