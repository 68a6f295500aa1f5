"""How much of a large trace is the records' allocation alone: the floor under any pure-Python builder.

    python bench/record_floor.py [--reps 15]

Builds bench/core_bench.py's 10,000-run DAG (and its 1,000-deep chain) in a temporary SQLite store through
``Store.log``, then times, interleaved (a full collection before each, the collector paused during each
as the trace pauses it):

- **statement**: the trace's one statement on a driver cursor, rows fetched (``fasttrace._fetch``);
- **trace**: ``Store.trace`` of the same output, records included, as a user calls it;
- **allocation floor**: the same records made with the cheapest constructions CPython offers and nothing
  else -- each ``Run`` and ``ExternalIdentity`` a copy of a full template ``__dict__`` on a bare instance,
  each ``TraceEdge`` and ``TraceNode`` by ``tuple.__new__``, each names tuple from a ready list, each time
  by ``fromisoformat`` -- from values already parsed: no splitting, no sorting, no depths, no staleness.
  Then every object freed, as a caller that drops the trace frees them.

``statement + floor`` is the least a trace returning these records can cost; against the bare trace of
``../shared/bench-limit/trace_limit.py`` (plain driver tuples, no records) it says how far under its
1.5x target a builder of these records can get at all (docs/performance.md quotes both runs).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from itertools import chain, repeat
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import core_bench  # noqa: E402

import mltrace_core  # noqa: E402
from mltrace_core import fasttrace  # noqa: E402
from mltrace_core.records import ExternalIdentity, Run, TraceEdge, TraceNode  # noqa: E402


def build(store: mltrace_core.Store) -> None:
    """bench/core_bench.py's chain and DAG, through ``Store.log``."""
    for rec in chain(core_bench.chain_records(), core_bench.dag_records()):
        store.log(rec)


def floor_inputs(trace: mltrace_core.Trace) -> tuple:
    """What the floor starts from: every value of the records, parsed already."""
    runs = [node.run for node in trace.nodes]
    return (
        len(runs),
        [list(r.inputs) for r in runs] + [list(r.outputs) for r in runs],
        [tuple(e) for e in trace.edges],
        [r.start.replace(tzinfo=None).isoformat() + "+00:00" for r in runs]
        + [r.end.replace(tzinfo=None).isoformat() + "+00:00" for r in runs],
        [node.depth for node in trace.nodes],
    )


def allocation_floor(values: tuple) -> None:
    """The records of a trace (see the module's docstring), with fasttrace's own templates and
    ``_records`` (a template ``__dict__`` copy set on a bare instance), then freed."""
    n, names, edges, times, depths = values
    runs = fasttrace._records(Run, list(map(dict.copy, repeat(fasttrace._RUN_TEMPLATE, n))))
    externals = fasttrace._records(
        ExternalIdentity, list(map(dict.copy, repeat(fasttrace._EXTERNAL_TEMPLATE, n)))
    )
    tuples = list(map(tuple, names))
    made_edges = list(map(tuple.__new__, repeat(TraceEdge), edges))
    stamps = list(map(fasttrace._fromisoformat, times))
    nodes = list(map(tuple.__new__, repeat(TraceNode), zip(depths, runs, strict=True)))
    del runs, externals, tuples, made_edges, stamps, nodes  # freed, as a dropped trace is


def timed(fns: dict, reps: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for i in range(reps):
        for name in fns if i % 2 == 0 else reversed(list(fns)):
            gc.collect()
            gc.disable()
            t0 = time.perf_counter()
            fns[name]()
            samples[name].append((time.perf_counter() - t0) * 1000)
            gc.enable()
    return {name: statistics.median(s) for name, s in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = mltrace_core.Store(f"sqlite:///{tmp}/floor.db")
        print("building the chain and the DAG (11,001 runs) ...", file=sys.stderr, flush=True)
        build(store)
        raw = store.engine.raw_connection()
        try:
            cursor = raw.driver_connection.cursor()
            for label, output in (("1,000-deep chain", "c1000"), ("10,000-run DAG", "dag-final")):
                values = floor_inputs(store.trace(output))
                got = timed(
                    {
                        "statement": lambda o=output: fasttrace._fetch(cursor, "sqlite", {"name": o}),
                        "trace": lambda o=output: store.trace(o),
                        "floor": lambda v=values: allocation_floor(v),
                    },
                    args.reps,
                )
                print(
                    f"SQLite, {label} ({values[0]:,} runs, {len(values[2]):,} edges): "
                    f"statement {got['statement']:.1f} ms, trace {got['trace']:.1f} ms, "
                    f"allocation floor {got['floor']:.1f} ms, statement + floor "
                    f"{got['statement'] + got['floor']:.1f} ms"
                )
        finally:
            raw.close()
        store.dispose()


if __name__ == "__main__":
    main()
