"""Component listings at scale: ``Store.get_components()`` (run counts kept by the database, schema 0010;
one statement, ``fastread.components``) beside the general path it stands in for (``catalog.list_components``
in a session: the latest runs through ``queries.load_runs``) and the per-component count query the listing
ran before, interleaved, on one store.

    python bench/components_bench.py URI [--runs 1000000] [--repeat 30]

An empty store is filled first with ``bench/bulk.py``'s history (``--runs`` runs, 100 components) and
vacuumed; a filled one is measured as it is. Also checks that every kept count equals the count of runs.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bulk  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

import mltrace_core  # noqa: E402
from mltrace_core import catalog  # noqa: E402
from mltrace_core.models import components, runs  # noqa: E402

COUNTED = select(
    components.c.name,
    select(func.count()).where(runs.c.component_id == components.c.id).scalar_subquery(),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("uri")
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    store = mltrace_core.Store(args.uri, timeout=600)
    if not store.get_recent_run_ids(1):
        print("loaded", bulk.load(store, args.runs))
        if store.engine.dialect.name == "postgresql":  # as autovacuum would have: index-only scans
            with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
    with store.session() as s:
        kept = dict(s.execute(select(components.c.name, components.c.run_count)).all())
        counted = dict(s.execute(COUNTED).all())
    print(f"{len(kept)} components, {sum(kept.values())} runs, kept counts exact: {kept == counted}")
    calls = (
        store.get_components,
        lambda: store._read(catalog.list_components, None, None),
        lambda: store._read(lambda s: s.execute(COUNTED).all()),
    )
    assert calls[0]() == calls[1](), "the one-statement listing differs from the general path"
    samples: list[list[float]] = [[], [], []]
    for i in range(args.repeat):
        for which in (0, 1, 2) if i % 2 else (2, 1, 0):
            gc.collect()
            t0 = time.perf_counter()
            calls[which]()
            samples[which].append((time.perf_counter() - t0) * 1000)
    listing, general, count = (statistics.median(s) for s in samples)
    print(
        f"get_components median {listing:.1f} ms; the general path {general:.1f} ms; "
        f"the old per-component count query alone {count:.1f} ms"
    )
    store.dispose()


if __name__ == "__main__":
    main()
