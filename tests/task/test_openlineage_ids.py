"""One run id across systems: every traced try records the OpenLineage run id the provider gives it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mltrace_core import olids
from tests.support.airflow import run_dag

pytestmark = pytest.mark.airflow

names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@settings(max_examples=100, deadline=None)
@given(
    dag_id=names,
    task_id=names,
    try_number=st.integers(0, 10_000),
    map_index=st.integers(-1, 10_000),
    clear_number=st.integers(0, 1000),
    date=st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(timezone.utc)
    ),
)
def test_the_rule_is_the_providers(airflow_db, dag_id, task_id, try_number, map_index, clear_number, date):
    from airflow.providers.openlineage import conf
    from airflow.providers.openlineage.utils.utils import (
        build_dag_run_ol_run_id,
        build_task_instance_ol_run_id,
    )

    namespace = conf.namespace()
    assert olids.task_run_id(namespace, dag_id, task_id, try_number, map_index, date) == (
        build_task_instance_ol_run_id(dag_id, task_id, try_number, date, map_index)
    )
    assert olids.dag_run_id(namespace, dag_id, date, clear_number) == build_dag_run_ol_run_id(
        dag_id, date, clear_number
    )


@pytest.mark.timeout(180)
def test_every_traced_try_records_its_openlineage_run_id(dags, lineage_store):
    dr = run_dag(dags, "mltrace_openlineage")
    assert dr.state == "success"
    date = dr.logical_date or dr.run_after
    seen = []
    for run in lineage_store.get_runs_for_dag_run(dr.dag_id, dr.run_id):
        ext = run.external
        expected = olids.task_run_id("default", dr.dag_id, ext.task_id, ext.try_number, ext.map_index, date)
        assert ext.openlineage_run_id == expected, ext
        assert ext.openlineage_parent_run_id == olids.dag_run_id("default", dr.dag_id, date, dr.clear_number)
        assert ext.openlineage_namespace == "default"
        seen.append((ext.task_id, ext.map_index, ext.try_number, run.status))
    assert sorted(seen) == [
        ("features", -1, 1, "success"),
        ("shard", 0, 1, "success"),
        ("shard", 1, 1, "success"),
        ("train", -1, 1, "failed"),
        ("train", -1, 2, "success"),
    ]
    assert (
        len({r.external.openlineage_run_id for r in lineage_store.get_runs_for_dag_run(dr.dag_id, dr.run_id)})
        == 5
    )


@pytest.mark.timeout(120)
def test_without_the_provider_the_same_rule_gives_the_same_id(dags, lineage_store, monkeypatch):
    """With the provider's code out of the way (our own switch), the core's rule and the namespace read
    the provider's way ([openlineage] namespace) give the id the provider would have given."""
    from mltrace_airflow.task import olrun

    monkeypatch.setattr(olrun, "provider_installed", lambda: False)
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__NAMESPACE", "team_ns")
    dr = run_dag(dags, "mltrace_one_task")
    (run,) = lineage_store.get_runs_for_dag_run(dr.dag_id, dr.run_id)
    date = dr.logical_date or dr.run_after
    assert run.external.openlineage_namespace == "team_ns"
    assert run.external.openlineage_run_id == olids.task_run_id("team_ns", dr.dag_id, "write", 1, -1, date)
