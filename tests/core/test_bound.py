"""``Store(uri, timeout=T, max_in_flight=N)``: T bounds every call end to end, N calls at most are in
flight at once, and a healthy store's calls reuse one long-lived worker (no thread per call).

A :class:`HungServer` accepts TCP connections and never answers: to a PostgreSQL client it is a server
frozen mid-handshake, where no server-side timeout can fire."""

from __future__ import annotations

import threading
import time

import pytest

import mltrace_core
from mltrace_core import StoreUnavailableError, stores
from mltrace_core.bound import ADMISSION_WAIT, CallBound
from tests.support.processes import HungServer


@pytest.fixture
def hung():
    server = HungServer()
    yield f"postgresql://postgres@127.0.0.1:{server.port}/mltrace"
    server.close()


def timed(call):
    started = time.monotonic()
    try:
        call()
    except StoreUnavailableError as exc:
        return time.monotonic() - started, exc
    raise AssertionError("the call was expected to give up")


@pytest.mark.slow  # waits out time bounds or starts a process: in the full run, not test-fast
@pytest.mark.timeout(30)
def test_the_timeout_bounds_a_call_end_to_end(hung):
    # T = 2 s: the old bound (2T + 1 = 5 s) is out of reach, with 2 s of slack for a loaded machine, where
    # a waiting thread can wake up well after its deadline.
    store = mltrace_core.Store(hung, timeout=2.0)
    seconds, exc = timed(store.get_recent_runs)
    assert 1.95 <= seconds < 4.0, seconds
    assert "did not answer within 2 s" in str(exc)
    seconds, _ = timed(lambda: store.log(mltrace_core.RunRecord.from_json(_record())))
    assert 1.95 <= seconds < 4.0, seconds


@pytest.mark.slow  # waits out time bounds or starts a process: in the full run, not test-fast
@pytest.mark.timeout(30)
def test_max_in_flight_refuses_calls_beyond_the_stuck_ones(hung):
    store = mltrace_core.Store(hung, timeout=3.0, max_in_flight=2)
    results: list = []
    callers = [threading.Thread(target=lambda: results.append(timed(store.get_tags))) for _ in range(2)]
    for caller in callers:
        caller.start()
    time.sleep(0.3)  # both slots are now held by calls stuck on the hung server
    seconds, exc = timed(store.get_tags)
    assert seconds < ADMISSION_WAIT + 0.5, seconds
    assert "2 earlier calls are still waiting for it" in str(exc)
    for caller in callers:
        caller.join()
    assert all(2.9 <= s < 4.5 for s, _ in results), results


@pytest.mark.postgres
def test_a_healthy_store_reuses_one_worker(pg_database):
    store = mltrace_core.Store(pg_database, timeout=5)
    store.get_recent_runs()
    before = threading.active_count()
    for _ in range(50):
        store.get_recent_runs()
    assert threading.active_count() <= before  # (other tests' idle workers may end meanwhile)
    assert len(store._bound._idle) == 1  # one worker served all 51 calls
    store.dispose()


def test_sqlite_calls_run_on_the_callers_thread(tmp_path):
    bound = CallBound(timeout=5, threaded=False)
    assert (
        bound.call(lambda deadline: threading.current_thread(), "x", lambda: None)
        is threading.current_thread()
    )
    store = mltrace_core.Store(f"sqlite:///{tmp_path / 'a.db'}", timeout=5, max_in_flight=1)
    assert store.get_recent_runs() == [] and store.get_recent_runs() == []  # the slot was given back


@pytest.mark.parametrize("kwargs", [{"timeout": 0}, {"timeout": -1}, {"timeout": 5, "max_in_flight": 0}])
def test_bounds_must_make_sense(kwargs, tmp_path):
    with pytest.raises(ValueError):
        mltrace_core.Store(f"sqlite:///{tmp_path / 'a.db'}", **kwargs)


def test_one_registry_of_stores(tmp_path):
    uri = f"sqlite:///{tmp_path / 'a.db'}"
    a = stores.get(uri, timeout=5)
    assert stores.get(uri, timeout=5) is a
    assert stores.get(uri, timeout=2) is not a  # other bounds, another store
    assert stores.get(uri, timeout=5, max_in_flight=4).max_in_flight == 4
    mltrace_core.set_db_uri(uri)
    assert mltrace_core.default_store() is stores.get()
    a.get_recent_runs()
    stores.clear()
    assert a._engine is None  # disposed
    assert stores.get(uri, timeout=5) is not a


def _record() -> dict:
    return {
        "key": "k1",
        "component": "c",
        "start": "2026-01-01T00:00:00+00:00",
        "end": "2026-01-01T00:01:00+00:00",
    }
