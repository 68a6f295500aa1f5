"""The check of a try's inputs reads what each flag reaches from ``flag_reach`` (mltrace_core/reach.py);
here it must answer exactly what the walk it replaced answers -- the upstream lineage of the try's
producers walked back to the oldest flagged data, kept below as the oracle -- after every step of random
histories: chains and DAGs, versioned and unversioned writes, runs logged late that take over
consumers, reports of a run already written (merges), batches, placeholders, flags and unflags of
pointers and versions. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mltrace_core
from mltrace_core import NotFoundError, RunRecord, fastlog, flags, rule
from mltrace_core.fastlog import sqlite_ts
from mltrace_core.flags import linked_producer, reaches, read_version
from mltrace_core.openlineage import parse
from tests.support.openlineage import event, new_id
from tests.support.timeline import at

NOW = at(10_000)  # every check as of one time, after every run
POINTERS = ("p0", "p1", "p2")
VERSIONS = (None, "a", "b")


def _ended(run: str, pointer: str) -> str:
    return f"(SELECT w.end_ts FROM run_outputs w WHERE w.run_id = {run} AND w.pointer_id = {pointer})"


@cache
def walk_sql(dialect: str) -> str:
    """The check as it was before flag_reach (schema 0011's flags.py), verbatim but for its parameters."""
    if dialect == "postgresql":
        inputs = "SELECT x.name, x.version FROM json_to_recordset(CAST(%(inputs)s AS json)) AS x(name text, version text)"
        now, flagged_p = "CAST(%(now)s AS timestamptz)", "p.flagged"
    else:
        inputs = (
            "SELECT json_extract(j.value, '$.name') AS name, json_extract(j.value, '$.version') AS version"
            " FROM json_each(:inputs) AS j"
        )
        now, flagged_p = ":now", "p.flagged = 1"

    def flagged(pointer: str) -> str:
        return f"(SELECT q.flagged FROM pointers q WHERE q.id = {pointer}){' = 1' if dialect == 'sqlite' else ''}"

    return f"""
        WITH RECURSIVE
        reads(pointer_id, version) AS (
            SELECT q.id, x.version FROM ({inputs}) AS x JOIN pointers q ON q.name = x.name
        ),
        linked(pointer_id, version, producer) AS (
            SELECT r.pointer_id, r.version, {rule.producer("r", now, "0")} FROM reads r
        ),
        oldest(at) AS (
            SELECT MIN(b.at) FROM (
                SELECT (SELECT MIN(o.end_ts) FROM run_outputs o WHERE o.pointer_id = p.id) AS at
                FROM pointers p WHERE {flagged_p}
                UNION ALL
                SELECT (SELECT MIN(i.start_ts) FROM run_inputs i WHERE i.pointer_id = p.id)
                FROM pointers p WHERE {flagged_p}
            ) AS b
        ),
        reach(run_id) AS (
            SELECT l.producer FROM linked l WHERE {_ended("l.producer", "l.pointer_id")} >= (SELECT at FROM oldest)
            UNION
            SELECT d.producer_run_id FROM run_dependencies d JOIN reach r ON d.consumer_run_id = r.run_id
            WHERE {_ended("d.producer_run_id", "d.pointer_id")} >= (SELECT at FROM oldest)
        ),
        touched(run_id, pointer_id, version) AS MATERIALIZED (
            SELECT NULL, l.pointer_id, {read_version("l.version", "l.producer", "l.pointer_id")}
            FROM linked l WHERE {flagged("l.pointer_id")}
            UNION ALL
            SELECT i.run_id, i.pointer_id, {read_version("i.version", linked_producer("i"), "i.pointer_id")}
            FROM reach r JOIN run_inputs i ON i.run_id = r.run_id WHERE {flagged("i.pointer_id")}
            UNION ALL
            SELECT o.run_id, o.pointer_id, o.version
            FROM reach r JOIN run_outputs o ON o.run_id = r.run_id WHERE {flagged("o.pointer_id")}
        ),
        hits(run_id, flag_id) AS (
            SELECT DISTINCT t.run_id, f.id FROM touched t JOIN flags f ON {reaches("f", "t.pointer_id", "t.version")}
        )
        SELECT h.run_id, c.name, p.name, f.version, f.reason, f.flagged_by, f.flagged_at, f.id
        FROM hits h JOIN flags f ON f.id = h.flag_id JOIN pointers p ON p.id = f.pointer_id
        LEFT JOIN component_runs cr ON cr.id = h.run_id LEFT JOIN components c ON c.id = cr.component_id
        WHERE EXISTS (SELECT 1 FROM pointers p WHERE {flagged_p})
        """


def walked(store, inputs: list[tuple[str, str | None]], now: datetime) -> list[flags.FlagHit]:
    wanted = json.dumps([{"name": n, "version": v} for n, v in inputs])

    def run(cursor: Any, dialect: str) -> list[flags.FlagHit]:
        stamp: Any = now if dialect == "postgresql" else sqlite_ts(now)
        cursor.execute(walk_sql(dialect), {"inputs": wanted, "now": stamp})
        return flags.hits(cursor.fetchall(), dialect)

    return store._fast_read(run)


PROBES = [[(p, v)] for p in POINTERS for v in VERSIONS] + [[("p0", None), ("p1", "a"), ("p2", None)]]


def assert_check_is_the_walk(store, probes: list[list[tuple[str, str | None]]] = PROBES) -> None:
    for inputs in probes:
        assert store._fast_read(flags.check, inputs, NOW) == walked(store, inputs, NOW), inputs


pointer = st.tuples(st.sampled_from(POINTERS), st.sampled_from(VERSIONS))
pointer_rows = st.lists(pointer, max_size=2, unique_by=lambda r: r[0])
runs = st.builds(
    lambda key, start, length, inputs, outputs, status: RunRecord(
        key=f"k{key}",
        component=f"c{key % 3}",
        start=at(start),
        end=at(start + length),
        status=status,
        inputs=tuple((n, v, None) for n, v in inputs),
        outputs=tuple((n, v, None) for n, v in outputs),
    ),
    key=st.integers(0, 14),  # keys repeat: a second report of a run is merged into it
    start=st.integers(0, 12),
    length=st.integers(0, 3),  # zero-length runs tie at one instant
    inputs=pointer_rows,
    outputs=st.lists(pointer, min_size=1, max_size=2, unique_by=lambda r: r[0]),
    status=st.sampled_from(["success"] * 6 + ["failed", "running"]),
)
targets = st.tuples(st.integers(0, 50), st.booleans())  # a pointer or version written so far; whole?
steps = st.lists(
    st.one_of(
        *[st.tuples(st.just("log"), runs)] * 5,  # mostly runs, in any order of time: late ones relink
        *[st.tuples(st.just("batch"), st.lists(runs, min_size=1, max_size=4))] * 2,
        *[st.tuples(st.just("flag"), targets)] * 2,
        st.tuples(st.just("unflag"), targets),
        st.tuples(st.just("unflag_all"), st.none()),
    ),
    min_size=1,
    max_size=25,
)


def target(written: list[tuple[str, str | None]], pick: tuple[int, bool]) -> str | None:
    """``NAME`` or ``NAME@VERSION`` of something a run wrote (a flag needs a pointer, or a version some
    run wrote; a failed run writes nothing, which is then no such version)."""
    if not written:
        return None
    name, version = written[pick[0] % len(written)]
    return name if pick[1] or version is None else f"{name}@{version}"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps)
def test_the_check_answers_what_the_walk_answers_after_every_step(store, history):
    store.delete_everything()
    written: list[tuple[str, str | None]] = []
    for op, arg in history:
        if op in ("log", "batch"):
            for rec in [arg] if op == "log" else arg:
                written += [(n, v) for n, v, _ in rec.outputs]
            store.log(arg) if op == "log" else store.log_many(arg)
        elif op == "unflag_all":
            store.unflag_all()
        elif (where := target(written, arg)) is not None:
            try:
                store.flag(where, reason="bad") if op == "flag" else store.unflag(where)
            except NotFoundError:  # a version only a failed run reported
                continue
        assert_check_is_the_walk(store)


def test_a_flag_on_old_data_names_the_latest_run_made_from_it(store, log):
    """A chain raw -> a -> b -> c, then a second writer of a from raw logged late, which feat now reads:
    the hit names the latest run (highest id) upstream that read or wrote the flagged data, as the walk
    did."""
    writer = log("ingest", [], [("raw", "v1")], 0)
    log("clean", [("raw", "v1")], ["a"], 2)
    log("feat", ["a"], ["b"], 4)
    log("train", ["b"], ["c"], 6)
    store.flag("raw@v1", reason="nulls")
    assert_check_is_the_walk(store)
    [hit] = store.flags_on([("c", None)])
    assert (hit.target, hit.component) == ("raw@v1", "clean")
    late = log("clean", [("raw", "v1")], ["a"], 2.5)  # logged late, ended last before feat: feat's a
    [hit] = store.flags_on([("c", None)])
    assert hit.run == late and hit.run > writer
    assert_check_is_the_walk(store)
    assert store.unflag("raw@v1") == 1
    assert store.flags_on([("c", None)]) == []
    assert_check_is_the_walk(store)


def test_openlineage_runs_keep_what_flags_reach(store):
    """Runs written by ingestion (a new run; a START's placeholder ended by its COMPLETE, in place on
    PostgreSQL) are made from flagged data like any other."""
    w, r, s = new_id(), new_id(), new_id()
    store.ingest(
        [parse(event("START", w, 0, job="w")), parse(event("COMPLETE", w, 1, job="w", outputs=["/q"]))]
    )
    [q] = store.get_component_run_information(store.get_recent_run_ids(1)[0]).outputs
    store.flag(q, reason="bad")
    store.ingest([parse(event("START", r, 2, job="r")), parse(event("START", s, 6, job="s"))])
    store.ingest([parse(event("COMPLETE", r, 3, job="r", inputs=["/q"], outputs=["/p"]))])
    store.ingest([parse(event("COMPLETE", s, 7, job="s", inputs=["/p"], outputs=["/m"]))])
    p, m = q[:-1] + "p", q[:-1] + "m"  # the pointer names of /p and /m
    [hit] = store.flags_on([(m, None)])
    assert (hit.target, hit.component) == (q, "r")
    assert_check_is_the_walk(store, [[(name, None)] for name in (q, p, m)])


def test_an_upgrade_fills_what_the_flags_of_a_store_reach(store, log):
    """Down to the schema before flag_reach and up again: the active flags get their rows."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from mltrace_core import db

    log("ingest", [], [("p0", "a")], 0)
    log("clean", [("p0", "a")], ["p1"], 2)
    log("train", ["p1"], ["p2"], 4)
    store.flag("p0@a", reason="nulls")
    store.flag("p1")
    store.unflag("p1")
    before = [store._fast_read(flags.check, inputs, NOW) for inputs in PROBES]
    assert any(before)
    cfg = db.alembic_config()
    with store.engine.execution_options(mltrace_write=True).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, ScriptDirectory.from_config(cfg).get_revision("0014").down_revision)
    store.dispose()
    db.upgrade(store.engine)
    assert [store._fast_read(flags.check, inputs, NOW) for inputs in PROBES] == before
    assert_check_is_the_walk(store)


def _waiting_for_lock(store) -> None:
    """Until a session waits for an advisory lock (polled; a side that never waits fails the test, after
    a minute rather than never)."""
    from sqlalchemy import text

    query = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    for _ in range(6000):
        with store.engine.connect() as conn:
            if conn.execute(query).scalar():
                return
        time.sleep(0.01)
    pytest.fail("nobody waits for the other side's advisory lock")


@pytest.mark.postgres
def test_a_flag_and_a_run_logged_at_once_see_each_other(pg_database):
    """PostgreSQL, both orders, on pointers the other side does not lock (only the advisory locks of
    mltrace_core/reach.py order them): a flag added while a run made from the flagged data is being
    logged waits for it and reaches it; a run logged while a flag upstream of it is being added waits
    for the flag and is reached by it."""
    from sqlalchemy.orm import Session

    from tests.support.stores import empty_pg

    empty_pg(pg_database)
    store = mltrace_core.Store(pg_database)
    try:
        store.log(report("w", 0, [], ["p0"]))
        store.log(report("m", 2, ["p0"], ["p1"]))
        # 1. the log's transaction is open (mltrace_log_run, not committed) when p0 is flagged
        raw = store.engine.raw_connection()
        cur = raw.cursor()
        cur.execute(fastlog._PG_CALL, fastlog.log_run_args(report("r1", 4, ["p1"], ["p2"])))
        flagging = threading.Thread(target=lambda: store.flag("p0", reason="bad"))
        flagging.start()
        _waiting_for_lock(store)
        raw.commit()
        raw.close()
        flagging.join()
        assert [h.target for h in store.flags_on([("p2", None)])] == ["p0"]
        assert_check_is_the_walk(store, [[(p, None)] for p in ("p0", "p1", "p2", "p3")])
        # 2. p1's flag's transaction is open when a run made from p1 is logged
        with Session(store.engine) as session:
            flags.flag(session, "p1", "bad too", None)
            logging = threading.Thread(target=lambda: store.log(report("r2", 6, ["p2"], ["p3"])))
            logging.start()
            _waiting_for_lock(store)
            session.commit()
        logging.join()
        assert {h.target for h in store.flags_on([("p3", None)])} == {"p0", "p1"}
        assert_check_is_the_walk(store, [[(p, None)] for p in ("p0", "p1", "p2", "p3")])
    finally:
        store.dispose()


def report(key: str, start: int, inputs: list[str], outputs: list[str]) -> RunRecord:
    return RunRecord(
        key=key,
        component="c",
        start=at(start),
        end=at(start + 1),
        status="success",
        inputs=tuple((n, None, None) for n in inputs),
        outputs=tuple((n, None, None) for n in outputs),
    )
