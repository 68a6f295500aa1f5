"""`mltrace export --openlineage` of a big store: speed, peak memory, and the round trip through ingestion
(figures in docs/openlineage.md).

Fills a fresh store with bench/bulk.py's synthetic history (RUNS runs, 5-step pipelines, 3 pointers a
run), exports it with the real command in a process of its own, and reports the time, the rate, the file
size and the command's peak resident memory. Memory is measured at two sizes (RUNS/10 and RUNS):
streaming means the peak does not grow with the store (Linux: the child's VmHWM). A sample of the events
(1 in 100) is validated against the OpenLineage 2-0-2 schema. Then the file is ingested into an empty
store (``Store.ingest``, 2,000 events a call) and every run's pointers (with versions) and every lineage
edge must come back, runs matched by OpenLineage run id.

    python bench/openlineage_export.py [--runs 100000] [--pg POSTGRES_ADMIN_URI]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "bench"), str(REPO)]  # bulk.py beside it; tests.support for the schema check

import bulk  # noqa: E402

import mltrace_core  # noqa: E402

# The child notes its own peak (VmHWM of its address space): getrusage(RUSAGE_CHILDREN) would also count
# the pages a forked child shares with this process, which holds a whole generated history.
CHILD = """
import atexit, sys
peak_file = sys.argv[1]
def note_peak():
    with open('/proc/self/status') as status, open(peak_file, 'w') as out:
        out.write(next(line.split()[1] for line in status if line.startswith('VmHWM')))
atexit.register(note_peak)
from mltrace_core.cli import main
sys.argv = ['mltrace'] + sys.argv[2:]
main()
"""


def export(uri: str, out: Path) -> dict:
    """One export in a process of its own: seconds, and the process's peak resident memory in MB."""
    peak = out.with_suffix(".peak")
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", CHILD, str(peak), "--db-uri", uri, "export", "--openlineage", "-o", str(out)],
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(int(peak.read_text()) / 1024)}


def validate_sample(path: Path, every: int = 100) -> int:
    from tests.support.openlineage import validate_event

    checked = 0
    with open(path, encoding="utf-8") as lines:
        for i, line in enumerate(lines):
            if i % every == 0:
                validate_event(json.loads(line))
                checked += 1
    return checked


def ingest(uri: str, path: Path, batch: int = 2000) -> float:
    """Load the export into the store at ``uri`` with ``Store.ingest``, ``batch`` events at a time (a run's
    START and end are adjacent lines, so an even batch never splits a run); seconds taken."""
    from mltrace_core.openlineage import parse

    store = mltrace_core.Store(uri, timeout=600)
    started = time.perf_counter()
    with open(path, encoding="utf-8") as lines:
        events = []
        for line in lines:
            events.append(parse(json.loads(line)))
            if len(events) == batch:
                store.ingest(events)
                events = []
        if events:
            store.ingest(events)
    seconds = time.perf_counter() - started
    store.dispose()
    return seconds


def signature(uri: str) -> tuple[set, set]:
    """A store's runs' pointers and lineage edges, with runs named by OpenLineage run id (as exported)."""
    from sqlalchemy import select

    from mltrace_core import olids
    from mltrace_core.models import pointers, run_dependencies, run_inputs, run_outputs, runs

    store = mltrace_core.Store(uri, timeout=600)
    with store.session() as s:
        ol = {
            rid: ol_id or olids.run_id_of_key(key, start)
            for rid, key, start, ol_id in s.execute(
                select(runs.c.id, runs.c.key, runs.c.start_ts, runs.c.ext_ol_run_id)
            )
        }
        links = set()
        for table, kind in ((run_inputs, "in"), (run_outputs, "out")):
            query = select(table.c.run_id, pointers.c.name, table.c.version).join(pointers)
            links |= {(ol[r], kind, name, v) for r, name, v in s.execute(query)}
        d = run_dependencies
        query = select(d.c.consumer_run_id, d.c.producer_run_id, pointers.c.name).join(pointers)
        edges = {(ol[c], ol[p], name) for c, p, name in s.execute(query)}
    store.dispose()
    return links, edges


def run(uri_for, runs: int, label: str) -> dict:
    figures = {"backend": label}
    with tempfile.TemporaryDirectory() as tmp:
        for size in (runs // 10, runs):
            uri = uri_for(Path(tmp), size)
            store = mltrace_core.Store(uri, timeout=600)
            loaded = bulk.load(store, size)
            store.dispose()
            out = Path(tmp) / f"events-{size}.jsonl"
            result = export(uri, out)
            events = sum(1 for _ in open(out, encoding="utf-8"))
            figures[size] = {
                **result,
                "runs": size,
                "links": loaded["links"],
                "events": events,
                "runs_per_s": round(size / result["seconds"]),
                "file_mb": round(out.stat().st_size / 2**20, 1),
            }
        figures["validated_sample"] = validate_sample(out)
        copy = uri_for(Path(tmp), "copy")
        seconds = ingest(copy, out)
        before, after = signature(uri), signature(copy)
        figures["round_trip"] = {
            "ingest_seconds": round(seconds, 1),
            "events_per_s": round(events / seconds),
            "links": len(after[0]),
            "edges": len(after[1]),
            "same_pointers_and_lineage": before == after,
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--pg", help="a PostgreSQL admin URI: also measure a PostgreSQL store")
    args = parser.parse_args()
    print(json.dumps(run(lambda tmp, n: f"sqlite:///{tmp}/store-{n}.db", args.runs, "sqlite"), indent=1))
    if args.pg:
        from tests.support.stores import create_pg_database, drop_pg_database

        made: list[str] = []

        def pg_uri(tmp, n):
            made.append(create_pg_database(args.pg))
            return made[-1]

        try:
            print(json.dumps(run(pg_uri, args.runs, "postgresql"), indent=1))
        finally:
            for uri in made:
                drop_pg_database(uri)


if __name__ == "__main__":
    os.environ.setdefault("MLTRACE_HOME", tempfile.mkdtemp(prefix="mltrace-bench-"))
    main()
