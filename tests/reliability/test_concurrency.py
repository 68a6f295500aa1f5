"""Eight processes logging at once into one store, with overlapping pointers and components created
concurrently, and each process logging its runs out of time order (half of them in batches,
``Store.log_many``): afterwards every run is there
exactly once and every lineage edge is the one the rule gives."""

from __future__ import annotations

import multiprocessing
import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

import mltrace_core
from mltrace_core.models import components, pointers, runs
from tests.reliability.oracle import expected_dependencies, snapshot

pytestmark = pytest.mark.slow

PROCESSES, RUNS = 8, 500
T0 = datetime(2026, 5, 1, tzinfo=timezone.utc)


def writer(uri: str, p: int, barrier) -> tuple[int, int]:
    """Log RUNS runs for process ``p``; return (logged, failures)."""
    rng = random.Random(p)
    store = mltrace_core.Store(uri, timeout=60)
    plan = []
    for i in range(RUNS):
        start = T0 + timedelta(seconds=(i * PROCESSES + p) * 20)
        end = start + timedelta(seconds=rng.choice([5, 20, 45, 90]))  # some still running when others start
        ins = rng.sample([f"shared/{k}" for k in range(40)], rng.randint(0, 3))
        outs = rng.sample([f"shared/{k}" for k in range(40)], rng.randint(0, 2)) + [f"own/{p}/{i}"]
        if i and rng.random() < 0.3:
            ins.append(f"own/{p}/{i - 1}")
        plan.append(
            mltrace_core.RunRecord(
                key=f"{p}-{i}",
                component=f"step-{rng.randint(0, 19)}",
                start=start,
                end=end,
                inputs=tuple((n, None, None) for n in ins),
                outputs=tuple((n, None, None) for n in outs),
                component_tags=(f"proc-{p}",),
            )
        )
    # Log in shuffled windows of 25: later runs often land before the earlier runs they depend on.
    order = []
    for w in range(0, RUNS, 25):
        window = plan[w : w + 25]
        rng.shuffle(window)
        order += window
    barrier.wait()
    failures = 0
    if p % 2:  # half the writers log their windows in batches, racing the others' single runs
        for w in range(0, RUNS, 25):
            try:
                store.log_many(order[w : w + 25])
            except mltrace_core.MltraceError:
                failures += 25
    else:
        for record in order:
            try:
                store.log(record)
            except mltrace_core.MltraceError:
                failures += 1
    store.dispose()
    return RUNS - failures, failures


@pytest.mark.timeout(600)
def test_concurrent_writers_lose_nothing_and_agree_on_lineage(store_uri):
    mltrace_core.Store(store_uri).upgrade()  # as a deployment would, before the workers start
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Manager().Barrier(PROCESSES)
    with ctx.Pool(PROCESSES) as pool:
        results = pool.starmap(writer, [(store_uri, p, barrier) for p in range(PROCESSES)])
    assert results == [(RUNS, 0)] * PROCESSES  # no writer saw an error
    store = mltrace_core.Store(store_uri)
    with store.session() as s:
        assert s.execute(select(func.count()).select_from(runs)).scalar() == PROCESSES * RUNS
        assert s.execute(select(func.count(func.distinct(runs.c.key)))).scalar() == PROCESSES * RUNS
        assert s.execute(select(func.count()).select_from(components)).scalar() == 20
        pointer_rows = s.execute(select(func.count()).select_from(pointers)).scalar()
    times, reads, writes, stored = snapshot(store)
    used = {name for side in (reads, writes) for names in side.values() for name in names}
    assert pointer_rows == len(used)  # one row per name: concurrent creators never duplicated one
    expected = expected_dependencies(times, reads, writes)
    assert len(expected) > PROCESSES * RUNS // 2  # the history really is interlinked
    assert stored == expected
    assert len(store.get_tags()) == PROCESSES
    store.dispose()
