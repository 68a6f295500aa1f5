"""The same Airflow task try written twice is stored once, however the second write comes about.

The hard case, end to end with real Airflow (``dag.test()``: the task runs in this process, which lives
on after the try, as a long-lived worker would): the store hangs mid-write (its server is frozen with
SIGSTOP, so no server-side timeout can fire), the operator's time bound gives up and spools the run, the
task succeeds; then the server thaws, the abandoned write completes after all; then the next task's
successful write replays the spool, and ``mltrace spool replay`` replays a second copy of it: one row.
The listener is on as well (``trace_all_tasks``), so every try is also seen by the listener and the
traced operator together. Replay after an outage, twice, under a real scheduler is in
``test_real_scheduler.py``.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import time

import pytest
from click.testing import CliRunner

import mltrace_core
from mltrace_core import stores
from mltrace_core.cli import cli
from tests.support.airflow import run_dag
from tests.support.pg_instance import dedicated_postgres

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.slow]

PASSWORD = "pw-" + secrets.token_hex(10)
BOUND = 2.0  # [mltrace] timeout


@pytest.fixture(scope="module")
def pg():
    with dedicated_postgres() as instance:
        yield instance


@pytest.fixture
def store_uri(pg, monkeypatch, listener_registered) -> str:  # noqa: F811 (the imported fixture)
    uri = pg.create_database(
        f"idem_{secrets.token_hex(4)}", owner=f"u_{secrets.token_hex(4)}", password=PASSWORD
    )
    monkeypatch.setenv("AIRFLOW_CONN_MLTRACE_DEFAULT", uri)
    monkeypatch.setenv("AIRFLOW__MLTRACE__TIMEOUT", str(BOUND))
    monkeypatch.setenv("AIRFLOW__MLTRACE__TRACE_ALL_TASKS", "True")
    # No flag check before the task: on a frozen store it would be the call left hanging, and the write
    # would then be spooled without ever reaching the server -- this test is about a write that does.
    monkeypatch.setenv("AIRFLOW__MLTRACE__ON_FLAGGED_INPUT", "ignore")
    yield uri
    stores.clear()


def spool():
    from mltrace_airflow import config

    return mltrace_core.Spool(config.spool_dir("mltrace_default"))


def runs_of_try(store, dr) -> list:
    return store.get_runs_for_dag_run(dr.dag_id, dr.run_id, "write")


@pytest.mark.timeout(180)
def test_a_write_that_times_out_then_completes_is_stored_once(dags, pg, store_uri, caplog, tmp_path):
    store = mltrace_core.Store(store_uri, timeout=10)
    try:
        first = run_dag(dags, "mltrace_one_task")  # the task process's store now holds an open connection
        assert first.state == "success" and len(runs_of_try(store, first)) == 1

        caplog.set_level(logging.WARNING, logger="mltrace_airflow")
        pg.pause()
        try:
            started = time.monotonic()
            hung = run_dag(dags, "mltrace_one_task")
            elapsed = time.monotonic() - started
            assert hung.state == "success"  # the task did not wait for the store beyond the bound
            assert BOUND <= elapsed < BOUND + 20, elapsed
            (spooled,) = spool().pending()
            copy = shutil.copy(spooled, tmp_path / spooled.name)
            warned = caplog.text
            assert f"did not answer within {BOUND:g} s" in warned and "spooled to" in warned
            assert PASSWORD not in warned and PASSWORD not in spooled.read_text()
        finally:
            pg.resume()

        # The abandoned write was only waiting: it completes now, after its run went to the spool.
        deadline = time.monotonic() + 30
        while not runs_of_try(store, hung) and time.monotonic() < deadline:
            time.sleep(0.2)
        (late,) = runs_of_try(store, hung)
        assert spool().pending() == [spooled]  # ...and the spooled copy is still waiting

        # The next successful write replays the spool: the try is already there, nothing is added.
        after = run_dag(dags, "mltrace_one_task")
        assert after.state == "success" and spool().pending() == []
        # A second copy of the same record, replayed by hand: still one run.
        shutil.copy(copy, spooled)
        out = CliRunner().invoke(
            cli, ["--db-uri", store_uri, "spool", "replay", "--dir", str(spool().directory)]
        )
        assert out.exit_code == 0 and out.output.strip() == "Replayed 1 of 1 spooled runs into the store"

        assert [r.id for r in runs_of_try(store, hung)] == [late.id]
        assert [len(runs_of_try(store, dr)) for dr in (first, hung, after)] == [1, 1, 1]
        assert len(store.get_recent_runs(100)) == 3  # listener + operator on every try: one run each
        detail = store.get_component_run_information(late.id)
        assert detail.external.try_number == 1 and detail.inputs == ("s3://bucket/config.yaml",)
    finally:
        store.dispose()
