"""The same parallel runs as ``test_real_scheduler.py``, under the CeleryExecutor: two ``airflow celery
worker``s (two slots each) on the local Redis, every task try traced from whichever worker ran it into one
PostgreSQL store. Skipped without the Celery provider or a Redis on 127.0.0.1:6379 (failed in CI, where
both are there)."""

from __future__ import annotations

import os
import random
import socket

import pytest

from tests.reliability.checks import parallel_runs
from tests.reliability.deployment import Deployment
from tests.support.stores import create_pg_database, drop_pg_database

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.slow]
REDIS = ("127.0.0.1", 6379)


def need(condition: bool, reason: str) -> None:
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI has it)")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def airflow(pg_server, airflow_metadata, tmp_path_factory):
    try:
        import airflow.providers.celery  # noqa: F401
    except ImportError:
        need(False, "apache-airflow-providers-celery is not installed (pip install -e '.[test]')")
    with socket.socket() as s:
        s.settimeout(2)
        need(s.connect_ex(REDIS) == 0, "no Redis on 127.0.0.1:6379")
    metadata = airflow_metadata.database("mltrace_reliability_celery")
    store = create_pg_database(pg_server, "mltrace_reliability_celery_store")
    deployment = Deployment(
        tmp_path_factory.mktemp("celery"),
        metadata_uri=metadata,
        store_conn=store,
        parallelism=4,
        celery_workers=2,
        copied_from=airflow_metadata.deployment.home,
        broker_url=f"redis://{REDIS[0]}:{REDIS[1]}/{random.randint(1, 15)}",
        extra_env={"AIRFLOW__MLTRACE__TRACE_ALL_TASKS": "True", "AIRFLOW__MLTRACE__TIMEOUT": "5"},
    )
    try:
        deployment.set_up()
        deployment.start()
        deployment.wait_ready()
        yield deployment
    finally:
        deployment.stop()
        drop_pg_database(metadata)
        drop_pg_database(store)
        forget_queue(deployment.broker_url, deployment.queue)


def forget_queue(broker_url: str, queue: str) -> None:
    """Remove what Celery left in Redis for this deployment's queue (and kombu's index of deadlines,
    when nothing else in that database needs it)."""
    import redis

    client = redis.Redis.from_url(broker_url, socket_timeout=5)
    try:
        ours = [key for key in client.scan_iter(match=f"*{queue}*")]
        if ours:
            client.delete(*ours)
        if set(client.scan_iter()) <= {b"_kombu.binding_deadlines"}:
            client.delete("_kombu.binding_deadlines")
    finally:
        client.close()


@pytest.mark.timeout(480)
def test_two_celery_workers_trace_parallel_runs_exactly(airflow):
    token = airflow.token("admin")
    parallel_runs(airflow, token, airflow.store_conn, trainings=2, batches=1)
    # Both workers ran tries (each try's log names the worker that ran it).
    ran = {
        name: s.text().count("Executing workload")
        for s in airflow.services
        if (name := s.name).startswith("worker")
    }
    assert len(ran) == 2 and all(n > 0 for n in ran.values()), ran
