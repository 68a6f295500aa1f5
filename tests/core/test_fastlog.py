"""The one-round-trip log path (mltrace_core/fastlog.py) stores exactly what the general path
(write.write_run in a session) stores, column by column; and a connection the server dropped costs a
call nothing (no ping before use: the store retries once on a fresh connection)."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, text

import mltrace_core
from mltrace_core import db
from mltrace_core.models import component_tags, components, pointers, run_inputs, run_outputs, runs
from mltrace_core.records import ExternalIdentity
from mltrace_core.write import write_run
from tests.core.test_merge import assert_exact_lineage
from tests.support.timeline import at


def records() -> list[mltrace_core.RunRecord]:
    """Runs with every column filled in some of them, logged out of time order (late arrivals)."""
    out = []
    for k in range(12):
        start = at(30 - 2 * k if k % 3 == 0 else 2 * k)
        out.append(
            mltrace_core.RunRecord(
                key=f"k{k}",
                component=f"step-{k % 4}",
                start=start,
                end=start + timedelta(minutes=1),
                status="failed" if k == 5 else "success",
                notes=f"note {k}" if k % 2 else "",
                code_version="abc" if k % 4 == 1 else None,
                error="boom" if k == 5 else None,
                external=ExternalIdentity("dag", f"run{k}", "task", 1, -1, url="http://x")
                if k % 5 == 0
                else None,
                component_tags=("t1", "t2") if k % 3 == 1 else (),
                inputs=((f"p{k - 1}", "v1" if k % 4 == 0 else None, None), ("shared", None, "DATA")),
                outputs=((f"p{k}", "v1" if k % 2 else None, "MODEL"), ("shared", None, None)),
                git_hash="deadbeef" if k % 2 else None,
                git_tags=("v1.0",) if k % 3 == 2 else None,
                code_snapshot="def f(): pass" if k == 7 else None,
                staleness_threshold=3600 if k == 8 else None,
            )
        )
    return out


def stored(store) -> dict:
    with store.session() as s:
        keys = dict(s.execute(select(runs.c.id, runs.c.key)).all())
        names = dict(s.execute(select(pointers.c.id, pointers.c.name)).all())
        cnames = dict(s.execute(select(components.c.id, components.c.name)).all())
        skip = {"id", "component_id", "logged_at"}
        return {
            "runs": {
                r.key: (cnames[r.component_id], *(v for c, v in r._mapping.items() if c not in skip))
                for r in s.execute(select(runs))
            },
            "pointers": {(p.name, p.type, p.flagged) for p in s.execute(select(pointers))},
            "tags": {(cnames[c], t) for c, t in s.execute(select(component_tags))},
            "io": {
                (
                    label,
                    keys[r.run_id],
                    names[r.pointer_id],
                    r.version,
                    r.start_ts,
                    getattr(r, "end_ts", None),
                )
                for label, table in (("in", run_inputs), ("out", run_outputs))
                for r in s.execute(select(table))
            },
        }


def test_the_fast_path_stores_what_the_general_path_stores(store_uri, tmp_path):
    fast = mltrace_core.Store(store_uri)
    general = mltrace_core.Store(f"sqlite:///{tmp_path}/general.db")
    for rec in records():
        fast.log(rec)
        general._write(write_run, rec.checked())
    assert stored(fast) == stored(general)
    assert_exact_lineage(fast)
    # Another report of a logged run takes the general path (a merge): same id, nothing doubled.
    again = records()[3]
    with fast.session() as s:
        first = s.execute(select(runs.c.id).where(runs.c.key == again.key)).scalar_one()
    assert fast.log(again) == first
    assert stored(fast) == stored(general)
    fast.dispose()
    general.dispose()


@pytest.mark.postgres
def test_a_connection_the_server_dropped_costs_a_log_nothing(fresh_pg_database):
    store = mltrace_core.Store(fresh_pg_database)
    store.upgrade()
    store.log(records()[0])
    admin = create_engine(fresh_pg_database, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # what a server restart does to the pooled connections
        dropped = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'mltrace' AND pid <> pg_backend_pid() AND datname = current_database()"
            )
        ).scalar()
    admin.dispose()
    assert dropped >= 1
    assert store.log(records()[1]) > 0
    assert len(store.get_recent_runs()) == 2
    store.dispose()


def closed(conn) -> bool:
    """Whether a driver connection (sqlite3 or psycopg2) has been closed."""
    if hasattr(conn, "closed"):  # psycopg2: nonzero once closed
        return bool(conn.closed)
    try:
        conn.execute("SELECT 1")
    except sqlite3.ProgrammingError:  # "Cannot operate on a closed database."
        return True
    return False


def test_a_thread_keeps_its_connection_which_ends_with_it(store_uri):
    """The log's connections (db.HeldConnections): one per thread, reused call after call, released when
    the thread ends, closed as a whole (each thread then opens another), never the pool's."""
    engine = db.make_engine(store_uri)
    held = db.HeldConnections()
    mine = held.take(engine, "test")
    assert held.take(engine, "test") is mine
    theirs: list = []
    worker = threading.Thread(target=lambda: theirs.append(id(held.take(engine, "test"))))
    worker.start()
    worker.join()
    assert theirs[0] != id(mine)
    assert [slot.conn for slot in held._slots] == [mine]  # the worker's went with it
    assert engine.pool.checkedout() == 0  # detached: the pool neither counts nor lends them
    held.close()
    assert closed(mine)
    again = held.take(engine, "test")
    assert again is not mine and not closed(again)
    held.discard()
    assert closed(again)
    engine.dispose()


def test_a_disposed_store_keeps_no_connection(store_uri):
    store = mltrace_core.Store(store_uri)
    for rec in records()[:3]:
        store.log(rec)
    conns = [slot.conn for slot in db.held_connections(store.engine)._slots]
    assert conns and not any(closed(c) for c in conns)
    store.dispose()
    assert all(closed(c) for c in conns)
    assert store.log(records()[3]) > 0  # and opens another on its next call
    assert len(store.get_recent_runs()) == 4
    store.dispose()
