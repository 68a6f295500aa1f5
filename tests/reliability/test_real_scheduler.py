"""The example DAGs under a real Airflow: scheduler + dag-processor + api-server, the LocalExecutor with
four slots, Airflow's metadata in PostgreSQL, every task try traced (traced operators and the listener)
into a PostgreSQL store that needs a password, on a server of the test's own so that it can be stopped.

The three tests share one deployment and run in file order:

1. several runs of each DAG at once: every DAG run succeeds, every task try is one run with its
   identity, the lineage is the rule's, each batch's predictions trace back to the training run whose
   model it scored, and the mltrace API and pages on the api-server show it;
2. the store stops (an immediate shutdown) while DAG runs are in flight and comes back: no task fails,
   every try reaches the store (by the next successful write, and ``mltrace spool replay``), and the
   lineage is the one the same runs give when delivered in order to a store that never went down;
3. the store's password is wrong, its host dead: the password never shows in a page, an API answer, a
   CLI error, a spool file, a task log or a service log;
4. the store hangs (its server frozen: connections open, nothing answers) while users keep loading
   mltrace pages and a DAG runs: the pages answer 503 in bounded time, Airflow's own API stays
   responsive, and the DAG run succeeds (its runs spooled, then replayed).
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from mltrace_airflow.web import app as web_app
from tests.reliability import airflow_lineage
from tests.reliability.checks import (
    airflow_tries,
    check_every_try_is_one_run,
    open_store,
    parallel_runs,
    trigger_at_once,
    wait_for,
)
from tests.reliability.deployment import Deployment
from tests.support.airflow_server import BIN
from tests.support.pg_instance import dedicated_postgres
from tests.support.processes import free_port
from tests.support.stores import drop_pg_database

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.slow]

PASSWORD = "pw-" + secrets.token_hex(10)  # distinctive: searched for in every page, log and file


@pytest.fixture(scope="module")
def pg():
    with dedicated_postgres() as instance:
        yield instance


@pytest.fixture(scope="module")
def store_uri(pg) -> str:
    return pg.create_database("lineage", owner="mltrace", password=PASSWORD)


@pytest.fixture(scope="module")
def airflow(pg, store_uri, pg_server, airflow_metadata, tmp_path_factory):
    """The running deployment; the store's schema is made by the first task that writes, as in a
    fresh install."""
    metadata = airflow_metadata.database("mltrace_reliability_airflow")
    deployment = Deployment(
        tmp_path_factory.mktemp("deployment"),
        metadata_uri=metadata,
        store_conn=store_uri,
        parallelism=4,
        copied_from=airflow_metadata.deployment.home,
        extra_env={"AIRFLOW__MLTRACE__TRACE_ALL_TASKS": "True", "AIRFLOW__MLTRACE__TIMEOUT": "3"},
    )
    try:
        deployment.set_up()
        deployment.start()
        deployment.wait_ready()
        yield deployment
    finally:
        deployment.stop()
        drop_pg_database(metadata)


@pytest.fixture(scope="module")
def token(airflow) -> str:
    return airflow.token("admin")


# -- 1. parallel DAG runs ------------------------------------------------------------------------------
@pytest.mark.timeout(420)
def test_parallel_dag_runs_are_traced_exactly_and_shown(airflow, token, store_uri):
    parallel_runs(airflow, token, store_uri, trainings=4, batches=3)


# -- 2. the store stops mid-pipeline ------------------------------------------------------------------------
def spooled(airflow) -> list[Path]:
    folder = airflow.spool_dir / "mltrace_default"
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def replay(airflow, uri: str) -> str:
    """``mltrace spool replay`` in a process of its own, as an operator would run it."""
    done = subprocess.run(
        [str(BIN / "mltrace"), "--db-uri", uri, "spool", "replay", "--dir", str(airflow.spool_dir / "mltrace_default")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def runs_logged(uri: str, dag_id: str, run_ids: list[str]) -> int:
    store = open_store(uri)
    try:
        return sum(len(store.get_runs_for_dag_run(dag_id, r)) for r in run_ids)
    finally:
        store.dispose()


@pytest.mark.timeout(420)
def test_store_outage_mid_pipeline_loses_and_changes_nothing(airflow, token, pg, store_uri, tmp_path):
    started = trigger_at_once(airflow, token, "churn_training", 3)
    wait_for(
        lambda: runs_logged(store_uri, "churn_training", started) >= 3, 120, "first tries logged", airflow
    )
    pg.stop()  # immediate: every connection dropped, as in a crash
    try:
        wait_for(lambda: len(spooled(airflow)) >= 4, 120, "tries spooled during the outage", airflow)
        for path in ("/mltrace/", "/mltrace/api/recent"):  # meanwhile the pages say so, and nothing more
            status, body = airflow.request("GET", path, token)
            assert status == 503 and b"unavailable" in body and PASSWORD.encode() not in body
        copies = tmp_path / "spool-copies"  # for replaying the same records a second time, later
        copies.mkdir()
        for path in spooled(airflow):
            shutil.copy(path, copies / path.name)
    finally:
        pg.start()
    dag_runs = airflow.wait_quiet(token, timeout=300)
    assert all(r["state"] == "success" for runs in dag_runs.values() for r in runs)  # no task noticed

    kept = sorted(copies.glob("*.json"))
    assert len(kept) >= 4
    for path in kept:  # a spool file is a record, never where the store is or how to log in
        text = path.read_text()
        assert json.loads(text)["external"]["dag_id"] in (
            "churn_training",
            "churn_batch_predict",
            "churn_report",
        )
        assert "postgresql" not in text and f"127.0.0.1:{pg.port}" not in text and PASSWORD not in text
    told = [p for p, text in airflow.task_logs().items() if "spooled to" in text and "mltrace" in text]
    assert len(told) >= len(kept)  # each spooled try said so in its own task log

    # What the next successful writes did not replay yet, the CLI does; after that nothing waits.
    assert replay(airflow, store_uri).startswith("Replayed ")
    assert spooled(airflow) == [] and not (airflow.spool_dir / "mltrace_default" / "rejected").exists()

    store = open_store(store_uri)
    try:
        lineage = airflow_lineage.read(store)
        check_every_try_is_one_run(lineage, airflow_tries(airflow, token, dag_runs))
        assert lineage.edges == lineage.expected

        # The same runs, delivered as they ended to a store that never went down: the same lineage.
        reference = open_store(pg.create_database("reference"))
        try:
            reference.upgrade()
            for record in airflow_lineage.records(lineage):
                reference.log(record)
            same = airflow_lineage.read(reference)
        finally:
            reference.dispose()
        assert same.tries.keys() == lineage.tries.keys()
        assert (same.reads, same.writes) == (lineage.reads, lineage.writes)
        assert same.edges == lineage.edges

        # Replaying the outage's records again (a second copy of the spool) changes nothing.
        for path in kept:
            shutil.copy(path, airflow.spool_dir / "mltrace_default" / path.name)
        assert (
            replay(airflow, store_uri) == f"Replayed {len(kept)} of {len(kept)} spooled runs into the store"
        )
        again = airflow_lineage.read(store)
        assert again.duplicates == [] and again.tries == lineage.tries and again.edges == lineage.edges
    finally:
        store.dispose()


# -- 3. credentials ---------------------------------------------------------------------------------------
def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "mltrace"), *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.timeout(300)
def test_the_store_password_never_shows(airflow, token, pg, store_uri):
    """A wrong password (the role's password rotated under a running deployment), a dead host and a
    stopped store (test 2): pages, API answers, CLI errors, spool files and every log stay clean."""
    pg.psql(f"ALTER ROLE mltrace PASSWORD 'rotated-{secrets.token_hex(8)}'")
    pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'mltrace'")
    try:
        for path in ("/mltrace/", "/mltrace/api/recent", "/mltrace/runs/1", "/mltrace/api/runs/1"):
            status, body = airflow.request("GET", path, token)
            assert status == 503, (path, status, body[:300])
            assert b"password authentication failed" in body and PASSWORD.encode() not in body

        (run_id,) = trigger_at_once(airflow, token, "churn_training", 1)
        dag_runs = airflow.wait_quiet(token, timeout=240)
        assert all(r["state"] == "success" for runs in dag_runs.values() for r in runs)
        files = spooled(airflow)
        assert len(files) >= 7  # every try of the new training run at least
        assert all(PASSWORD not in p.read_text() and "postgresql" not in p.read_text() for p in files)

        dead = pg.uri("mltrace", PASSWORD, "lineage").replace(f":{pg.port}/", f":{free_port()}/")
        for uri, reason in ((store_uri, "password authentication failed"), (dead, "Connection refused")):
            done = cli("--db-uri", uri, "recent")
            said = done.stdout + done.stderr
            assert done.returncode != 0 and reason in said, said
            assert said.startswith("mltrace: error: ") and said.count("\n") == 1, said  # one line
            assert PASSWORD not in said
            done = cli("--db-uri", uri, "spool", "replay", "--dir", str(files[0].parent))
            assert done.returncode != 0 and f"{len(files)} remain" in done.stderr
            assert PASSWORD not in done.stdout + done.stderr
    finally:
        pg.psql(f"ALTER ROLE mltrace PASSWORD '{PASSWORD}'")

    assert replay(airflow, store_uri).startswith("Replayed ")
    store = open_store(store_uri)
    try:
        lineage = airflow_lineage.read(store)
        check_every_try_is_one_run(lineage, airflow_tries(airflow, token, dag_runs))
        assert lineage.edges == lineage.expected
    finally:
        store.dispose()

    assert_the_password_is_nowhere(airflow)


def assert_the_password_is_nowhere(airflow) -> None:
    """Everything the deployment wrote: task logs, dag-processor and service logs, config, spool."""
    leaks = []
    for path in sorted(airflow.root.rglob("*")):
        if path.is_file() and PASSWORD.encode() in path.read_bytes():
            leaks.append(path)
    assert leaks == []
    assert len(airflow.task_logs()) > 100  # the scan did cover the task logs


# -- 4. a hung store --------------------------------------------------------------------------------------
class Readers:
    """Users who keep loading mltrace pages (each gives up after 20 s and loads again)."""

    def __init__(self, airflow, token: str, users: int = 8) -> None:
        self.stop = threading.Event()
        self.answers: list[tuple[int, float]] = []
        self.threads = [
            threading.Thread(target=self._read, args=(airflow, token), daemon=True) for _ in range(users)
        ]

    def _read(self, airflow, token: str) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            req = urllib.request.Request(
                airflow.base + "/mltrace/", headers={"Authorization": f"Bearer {token}"}
            )
            try:
                with urllib.request.urlopen(req, timeout=20) as r:
                    status = r.status
            except urllib.error.HTTPError as err:
                status = err.code
            except OSError:
                status = 0  # gave up waiting
            self.answers.append((status, time.monotonic() - started))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=10)


@pytest.mark.timeout(420)
def test_a_hung_store_stalls_neither_tasks_nor_the_api_server(airflow, token, pg, store_uri):
    pg.pause()
    try:
        with Readers(airflow, token) as readers:
            time.sleep(5)
            started = time.monotonic()
            status, _ = airflow.request("GET", "/api/v2/dags/churn_training", token)
            assert status == 200 and time.monotonic() - started < 5  # Airflow's own API still answers
            (run_id,) = trigger_at_once(airflow, token, "churn_training", 1)
            dag_runs = airflow.wait_quiet(token, timeout=240, settle=2)  # REST calls all along
            assert all(r["state"] == "success" for runs in dag_runs.values() for r in runs)
        # Every page got its 503 within the pages' bound (new connections give up after it; a request
        # finding every slot held by a stuck read is refused after a second).
        assert len(readers.answers) >= 20 and {status for status, _ in readers.answers} == {503}
        assert max(seconds for _, seconds in readers.answers) < web_app.PAGE_TIMEOUT + 5, readers.answers
        assert len(spooled(airflow)) >= 7
    finally:
        pg.resume()

    assert replay(airflow, store_uri).startswith("Replayed ")
    store = open_store(store_uri)
    try:
        lineage = airflow_lineage.read(store)
        check_every_try_is_one_run(lineage, airflow_tries(airflow, token, dag_runs))
        assert lineage.edges == lineage.expected
    finally:
        store.dispose()
    assert_the_password_is_nowhere(airflow)  # the hung store's messages too
