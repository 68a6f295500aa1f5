"""Each component's number of runs (``components.run_count``, schema 0010) is kept by the database: it
equals the count of its runs after every way of writing them -- the one-round-trip log, the general path,
re-logs of one key, batches with repeated keys, writes that fail half-way, concurrent writers, deletions
-- and an existing store is counted when it is upgraded."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

import mltrace_core
from mltrace_core import db
from mltrace_core.config import normalize_uri
from mltrace_core.models import components, runs
from mltrace_core.runs import TestResult
from tests.support.timeline import at


def record(key: str, component: str, minute: float, inputs=(), outputs=(), **extra) -> mltrace_core.RunRecord:
    return mltrace_core.RunRecord(
        key=key,
        component=component,
        start=at(minute),
        end=at(minute) + timedelta(seconds=30),
        inputs=tuple((n, None, None) for n in inputs),
        outputs=tuple((n, None, None) for n in outputs),
        **extra,
    )


def kept_and_counted(store) -> tuple[dict[str, int], dict[str, int]]:
    """(the counts the components keep, the counts of their runs), by component name."""
    with store.session() as s:
        kept = dict(s.execute(select(components.c.name, components.c.run_count)).all())
        counted = dict(
            s.execute(
                select(components.c.name, func.count(runs.c.id))
                .select_from(components.outerjoin(runs, runs.c.component_id == components.c.id))
                .group_by(components.c.name)
            ).all()
        )
    return kept, counted


def assert_exact(store, expected: dict[str, int]) -> None:
    kept, counted = kept_and_counted(store)
    assert kept == counted == expected
    assert {c.name: c.run_count for c in store.get_components()} == expected


def test_every_write_path_keeps_the_count_exact(store):
    store.log(record("a1", "a", 0, outputs=["x"]))  # the one-round-trip path
    store.log(record("a1", "a", 0, outputs=["x", "y"]))  # the same run again: merged, not counted
    store.log(record("b1", "b", 1, inputs=["x"], tests=(TestResult("before", "t.m", True),)))  # general
    assert_exact(store, {"a": 1, "b": 1})
    ids = store.log_many(
        [
            record("a2", "a", 2, outputs=["x"]),
            record("b2", "b", 3, inputs=["x"]),
            record("a2", "a", 2, outputs=["z"]),  # twice in one batch
            record("a1", "a", 0),  # logged before the batch
            record("c1", "c", 4),
        ]
    )
    assert ids[0] == ids[2] and len(set(ids)) == 4
    assert_exact(store, {"a": 2, "b": 2, "c": 1})
    store.log_many([record("a2", "a", 2), record("c1", "c", 4)])  # a spool replayed again
    assert_exact(store, {"a": 2, "b": 2, "c": 1})
    store.create_component("empty")
    assert_exact(store, {"a": 2, "b": 2, "c": 1, "empty": 0})


def test_a_write_that_fails_half_way_counts_nothing(store):
    store.log(record("a1", "a", 0))
    with pytest.raises(RuntimeError), store.session(write=True) as s:
        s.execute(
            runs.insert().values(key="lost", component_id=1, start_ts=at(1), end_ts=at(2), status="success")
        )
        raise RuntimeError("the writer dies before its commit")
    assert_exact(store, {"a": 1})


@pytest.mark.postgres
def test_the_log_functions_own_count_leaves_other_inserts_to_the_trigger(fresh_pg_database):
    """mltrace_log_run counts its run itself, its insert hidden from the counting trigger by a
    transaction-local setting (schema 0015); any other insert of the same transaction -- after the call,
    or after a call that failed inside a subtransaction once the setting was on -- is counted by the
    trigger."""
    from mltrace_core import fastlog

    store = mltrace_core.Store(fresh_pg_database)
    store.upgrade()
    store.log(record("a0", "a", 0))
    with store.session() as s:
        component = s.execute(select(components.c.id).where(components.c.name == "a")).scalar_one()
    args = fastlog.log_run_args(record("a1", "a", 1, outputs=["x"]).checked())
    too_long = list(fastlog.log_run_args(record("a2", "a", 2, outputs=["x"]).checked()))
    too_long[5] = "s" * 17  # the status column holds 16: the run's insert fails, after the setting is on
    with store.session(write=True) as s:
        conn = s.connection()
        conn.exec_driver_sql(fastlog._PG_CALL, args)
        with pytest.raises(DBAPIError, match="too long"), conn.begin_nested():
            conn.exec_driver_sql(fastlog._PG_CALL, tuple(too_long))
        assert conn.exec_driver_sql("SELECT current_setting('mltrace.run_counted', true)").scalar() == ""
        s.execute(
            runs.insert().values(
                key="direct", component_id=component, start_ts=at(3), end_ts=at(4), status="success"
            )
        )
    assert_exact(store, {"a": 3})
    store.dispose()


def test_down_to_0014_and_up_again_every_run_counted_once_and_every_output_its_status(store):
    """Schema 0015 down and up: the triggers are as 0014 had them in between (they count and copy what a
    write of that schema leaves to them), and as 0015 has them after."""
    from alembic import command

    store.log(record("a1", "a", 0, outputs=["x"]))
    cfg = db.alembic_config()
    with store.engine.execution_options(mltrace_write=True).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0014")
        component = conn.execute(select(components.c.id).where(components.c.name == "a")).scalar_one()
        run = conn.execute(
            runs.insert()
            .values(key="under-0014", component_id=component, start_ts=at(1), end_ts=at(2), status="failed")
            .returning(runs.c.id)
        ).scalar_one()
        conn.execute(
            text("INSERT INTO run_outputs (run_id, pointer_id, start_ts, end_ts) VALUES (:r, 1, :s, :e)"),
            {"r": run, "s": at(1), "e": at(2)},
        )
        expected = 3
        if conn.dialect.name == "postgresql":  # 0014's own function: counted by the trigger, not twice
            from mltrace_core import fastlog

            conn.exec_driver_sql(fastlog._PG_CALL, fastlog.log_run_args(record("fn", "a", 2).checked()))
            expected = 4
    store.dispose()
    db.upgrade(store.engine)
    store.log(record("a2", "a", 3, outputs=["y"]))
    assert_exact(store, {"a": expected})
    with store.session() as s:
        statuses = s.execute(
            text("SELECT r.key, o.status FROM run_outputs o JOIN component_runs r ON r.id = o.run_id")
        )
        assert sorted(statuses.all()) == [("a1", "success"), ("a2", "success"), ("under-0014", "failed")]


def test_deleted_runs_are_no_longer_counted(store):
    store.log_many([record(f"k{i}", "a" if i % 3 else "b", i) for i in range(9)])
    with store.session(write=True) as s:
        s.execute(runs.delete().where(runs.c.key.in_(["k1", "k2", "k3"])))
    assert_exact(store, {"a": 4, "b": 2})
    store.delete_everything()
    assert_exact(store, {})


def test_concurrent_writers_of_one_component_count_exactly(store_uri):
    stores = [mltrace_core.Store(store_uri) for _ in range(4)]
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            for i in range(15):
                minute = k * 100 + i
                if i % 5 == 4:  # a batch beside the single writers, with a key some other writer uses
                    stores[k].log_many([record(f"w{k}-{i}", "shared", minute), record("same", "shared", 0)])
                else:
                    stores[k].log(record(f"w{k}-{i}", "shared", minute, inputs=["in"], outputs=[f"o{k}"]))
                stores[k].log(record("same", "shared", 0))
        except BaseException as exc:  # noqa: BLE001 -- reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert_exact(stores[0], {"shared": 4 * 15 + 1})
    for s in stores:
        s.dispose()


def test_an_existing_store_is_counted_when_upgraded(bare_uri):
    engine = create_engine(normalize_uri(bare_uri))
    db.upgrade(engine, "0009")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO components (name, description, owner, created_at) VALUES ('a', '', '', :t), ('b', '', '', :t)"
            ),
            {"t": at(0)},
        )
        for i in range(5):
            conn.execute(
                text(
                    "INSERT INTO component_runs (key, component_id, start_ts, end_ts, status, notes, logged_at) "
                    "VALUES (:k, :c, :t, :t, 'success', '', :t)"
                ),
                {"k": f"k{i}", "c": 1 if i < 4 else 2, "t": at(i)},
            )
    engine.dispose()
    store = mltrace_core.Store(bare_uri)
    store.upgrade()
    assert_exact(store, {"a": 4, "b": 1})
    store.log(record("k9", "b", 9))
    assert_exact(store, {"a": 4, "b": 2})
    store.dispose()


def test_a_stale_run_is_warned_of_when_logged_by_either_path(store, caplog):
    """0.17's warning, from what the write found (no second read), says what reading the run says."""
    store.log(record("old", "prep", 0, outputs=["a.csv"]))
    store.log(record("fresh", "prep", 60, outputs=["b.csv"]))
    caplog.set_level(logging.WARNING, logger="mltrace_core")
    fast = store.log(record("t1", "train", 180, inputs=["a.csv", "b.csv"], staleness_threshold=3 * 3600 - 1))
    general = store.log(
        record(
            "t2",
            "train",
            180,
            inputs=["a.csv"],
            staleness_threshold=3 * 3600,
            tests=(TestResult("before", "t.m", True),),
        )
    )
    quiet = store.log(record("t3", "train", 181, inputs=["b.csv"], staleness_threshold=3 * 3600))
    stale = {run.id: run.stale for run in store.get_runs([fast, general, quiet])}
    assert len(stale[fast]) == 2 and len(stale[general]) == 1 and stale[quiet] == ()
    assert f"run {fast} of 'train' is stale: {list(stale[fast])}" in caplog.text
    assert f"run {general} of 'train' is stale: {list(stale[general])}" in caplog.text
    assert f"run {quiet} of" not in caplog.text
    caplog.clear()
    store.log(record("plain", "train", 182, inputs=["a.csv"]))  # no threshold: the store's own rules
    assert "stale" not in caplog.text
