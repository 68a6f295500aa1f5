"""Store.log_many leaves exactly what Store.log, run by run in the same order, leaves: the same runs,
pointers and versions, and lineage edges the oracle recomputes -- whatever part of the history was in the
store before, however the batch is cut into chunks, with keys repeated inside a batch or logged before."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import mltrace_core
from mltrace_core.models import pointers, run_dependencies, run_inputs, run_outputs, runs
from tests.core.test_merge import assert_exact_lineage, histories, report


def contents(store, prefix: str) -> dict:
    """Everything stored about runs whose key starts with ``prefix``, by key and pointer name (not ids:
    a PostgreSQL sequence also counts the inserts that found their key taken)."""
    with store.session() as s:
        keys = dict(s.execute(select(runs.c.id, runs.c.key).where(runs.c.key.like(f"{prefix}%"))).all())
        names = dict(s.execute(select(pointers.c.id, pointers.c.name)).all())
        rows = {
            keys[r.id]: (r.start_ts, r.end_ts, r.status, r.notes, r.error)
            for r in s.execute(select(runs).where(runs.c.id.in_(keys)))
        }
        sides = {}
        for label, table in (("in", run_inputs), ("out", run_outputs)):
            sides[label] = {
                (keys[rid], names[pid], version)
                for rid, pid, version in s.execute(
                    select(table.c.run_id, table.c.pointer_id, table.c.version).where(
                        table.c.run_id.in_(keys)
                    )
                )
            }
        d = run_dependencies.c
        edges = {
            (keys[c], names[p], keys[w])
            for c, p, w in s.execute(
                select(d.consumer_run_id, d.pointer_id, d.producer_run_id).where(d.consumer_run_id.in_(keys))
            )
        }
    return {"runs": rows, **sides, "edges": edges}


example = iter(range(10**9))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories(), data=st.data())
def test_a_batch_stores_what_one_by_one_stores(store, tmp_path, history, data):
    n = next(example)
    reports = [
        report(f"{n}-{key}", s, e, [(f"{n}-{p}", v) for p, v in i], [(f"{n}-{p}", v) for p, v in o], status)
        for key, s, e, i, o, status in history
    ]
    before = data.draw(st.integers(0, len(reports)), label="logged before the batch")
    chunk = data.draw(st.integers(1, 4), label="chunk")
    for rec in reports[:before]:
        store.log(rec)
    ids = store.log_many(reports[before:], chunk=chunk)
    reference = mltrace_core.Store(f"sqlite:///{tmp_path}/reference-{n}.db")
    ref_ids = [reference.log(rec) for rec in reports]
    assert contents(store, f"{n}-") == contents(reference, f"{n}-")
    assert_exact_lineage(store)
    # Each id is its key's run, the first one when a key comes again.
    by_key = {r.key: i for r, i in zip(reports[before:], ids, strict=True)}
    with store.session() as s:
        stored = dict(s.execute(select(runs.c.key, runs.c.id).where(runs.c.key.like(f"{n}-%"))).all())
    assert by_key == {k: stored[k] for k in by_key}
    assert len(ref_ids) == len(reports)
    reference.dispose()


def test_a_backfill_behind_later_readers_takes_them_over(store):
    """Readers in the store that started after the batch's writers ended now depend on them (a late
    backfill), unless they read a version the batch did not write; the chain inside the batch links."""
    store.log(report("late-reader", 30, 31, ["data", "other"], ["out"]))
    store.log(report("versioned-reader", 30, 31, [("data", "v9")], []))
    early = store.log(report("early-writer", 0, 1, [], ["data"]))
    ids = store.log_many(
        [
            report(f"day-{d}", 10 + d, 11 + d, [f"in-{d}"], [f"in-{d + 1}", ("data", f"v{d}")])
            for d in range(5)
        ]
    )
    assert len(set(ids)) == 5
    info = store.get_component_run_information
    assert info(ids[1]).dependencies == (ids[0],)
    reader = store.log(report("late-reader", 30, 31, ["data", "other"], ["out"]))  # the same run: its id
    assert info(reader).dependencies == (ids[-1],)
    versioned = store.log(report("versioned-reader", 30, 31, [("data", "v9")], []))
    assert info(versioned).dependencies == (early,)  # unversioned: compatible, and the batch's are not
    assert_exact_lineage(store)


def test_a_batch_again_changes_nothing_and_gives_the_same_ids(store):
    batch = [report(f"r{k}", k, k + 1, [f"p{k}"], [f"p{k + 1}"]) for k in range(30)]
    first = store.log_many(batch, chunk=7)
    assert store.log_many(batch) == first
    assert store.log_many(batch[::-1]) == first[::-1]
    assert len(store.get_recent_runs(100)) == 30
    assert_exact_lineage(store)


def test_every_run_is_validated_before_anything_is_written(store):
    good = report("ok", 0, 1, [], ["a"])
    bad = report("bad", 5, 1, [], ["b"])  # ends before it starts
    with pytest.raises(mltrace_core.InvalidInputError):
        store.log_many([good, bad])
    assert store.get_recent_runs() == []
    assert store.log_many([]) == []
