"""The store's own promises at its edges: ``Store(timeout=...)`` bounds every call, and a database URI the
CLI cannot use is a one-line error, never a traceback.

Both were defects found by these tests, and fixed in the core (``mltrace_core/bound.py`` and
``db.make_engine``):

- a store whose server freezes after the connection is made (SIGSTOP: connections stay open, nothing
  answers; a VM pause or a stuck disk look the same) hung a read forever: ``statement_timeout`` and
  ``lock_timeout`` are enforced by the frozen server, ``connect_timeout`` only applies to new connections,
  and ``pool_pre_ping`` waits on the pooled one. A long-lived process holding a store (a notebook, a
  worker using ``mltrace_core.api``) stalled. Now the core bounds every call of a network store, and
  the bound is the store's ``timeout``, end to end: task writes and pages use that same mechanism.
- ``mltrace --db-uri 'postgresql://u:pw@host:notaport/db' recent`` printed a Python traceback: SQLAlchemy's
  ``make_url`` raises ``ValueError``, which ``Store._translate`` did not translate.
"""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

import mltrace_core
from tests.support.airflow_server import BIN
from tests.support.pg_instance import dedicated_postgres

pytestmark = pytest.mark.slow

TIMEOUT = 2.0


@pytest.mark.postgres
@pytest.mark.timeout(120)
def test_a_read_from_a_frozen_store_gives_up_within_the_timeout():
    with dedicated_postgres() as pg:
        uri = pg.create_database("frozen")
        store = mltrace_core.Store(uri, timeout=TIMEOUT)
        store.upgrade()
        assert store.get_recent_runs() == []  # a pooled connection, as in any long-lived process
        outcome: dict = {}

        def read() -> None:
            started = time.monotonic()
            try:
                store.get_recent_runs()
                outcome["result"] = "answered"
            except mltrace_core.StoreUnavailableError as exc:
                outcome["result"] = exc
            outcome["seconds"] = time.monotonic() - started

        pg.pause()
        reader = threading.Thread(target=read, daemon=True)
        try:
            reader.start()
            reader.join(TIMEOUT + 10)
            gave_up = not reader.is_alive()
        finally:
            pg.resume()  # lets a hung read finish, so nothing is left behind
            reader.join(30)
            store.dispose()
        assert gave_up, "the read was still waiting 10 s after the store's timeout"
        assert isinstance(outcome["result"], mltrace_core.StoreUnavailableError)
        assert TIMEOUT - 0.1 <= outcome["seconds"] < TIMEOUT + 1, outcome["seconds"]


@pytest.mark.postgres
@pytest.mark.timeout(120)
def test_a_store_that_went_down_is_unavailable_on_every_fast_path():
    """A long-lived process (the API server, a notebook) whose store was in use, then stopped: each call
    that takes a fast path (reads of recent/history/inspect, a new run's log) meets a pool that must
    connect anew and is refused. That is ``StoreUnavailableError`` naming the store -- a page answers 503
    -- never the driver's own error (found by the real-scheduler outage test: the API server's pages
    answered 500)."""
    with dedicated_postgres() as pg:
        uri = pg.create_database("down")
        store = mltrace_core.Store(uri, timeout=TIMEOUT)
        store.upgrade()
        store.log(mltrace_core.RunRecord.from_json(_record("before")))
        assert [r.component_name for r in store.get_recent_runs()] == ["c"]
        pg.stop()
        try:
            calls = {
                "recent": store.get_recent_runs,
                "history": lambda: store.get_history("c"),
                "log": lambda: store.log(mltrace_core.RunRecord.from_json(_record("during"))),
            }
            for what, call in calls.items():
                with pytest.raises(mltrace_core.StoreUnavailableError) as refused:
                    call()
                assert "unavailable" in str(refused.value) and f":{pg.port}/" in str(refused.value), what
        finally:
            pg.start()
        assert [r.component_name for r in store.get_recent_runs()] == ["c"]  # and back, by itself
        store.dispose()


def _record(key: str) -> dict:
    return {
        "key": key,
        "component": "c",
        "start": "2026-01-01T00:00:00+00:00",
        "end": "2026-01-01T00:00:01+00:00",
        "inputs": [("in.csv", None, None)],
        "outputs": [(f"{key}.csv", None, None)],
    }


@pytest.mark.parametrize(
    "uri", ["postgresql://u:S3cret@127.0.0.1:notaport/db", "postgresql://u:S3cret@[::1:1/db"]
)
def test_an_unparsable_uri_is_a_one_line_cli_error(uri):
    done = subprocess.run(
        [str(BIN / "mltrace"), "--db-uri", uri, "recent"], capture_output=True, text=True, timeout=60
    )
    said = done.stdout + done.stderr
    assert done.returncode == 1 and said.startswith("mltrace: error: ") and said.count("\n") == 1, said
    assert "Traceback" not in said and "S3cret" not in said
