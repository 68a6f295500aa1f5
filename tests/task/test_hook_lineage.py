"""Hook-level lineage (issue 11, item 7): tasks that declare nothing are traced with what their hooks
reported -- files through ``ObjectStoragePath``, tables through SQL hooks -- and each try gets only its own
(``dag.test()`` runs every task in one process, whose collector is never reset)."""

from __future__ import annotations

import os

import pytest

from mltrace_core import Store
from tests.support.airflow import run_dag, runs_of

pytestmark = pytest.mark.airflow


def files(dr) -> dict[str, str]:
    safe = "".join(c if c.isalnum() else "_" for c in dr.run_id)
    base = f"{os.path.realpath(os.environ['MLTRACE_EXAMPLE_DATA'])}/test/hooks/{safe}"
    return {"raw": f"{base}/raw.csv", "clean": f"{base}/clean.csv"}


@pytest.mark.timeout(180)
def test_files_written_through_object_storage_are_traced_with_no_declaration(dags, lineage_store, trace_all):
    dr = run_dag(dags, "mltrace_hook_files")
    assert dr.state == "success"
    f, c = files(dr), "mltrace_hook_files."
    assert runs_of(lineage_store, dr) == [
        (c + "extract", "extract", -1, 1, "success", (), (f["raw"],)),
        (c + "report", "report", -1, 1, "success", (), ()),  # the collector still holds the others' files
        (c + "transform", "transform", -1, 1, "success", (f["raw"],), (f["clean"],)),
    ]
    graph = lineage_store.trace(f"file://{f['clean']}")
    assert [n.run.component for n in graph.nodes] == [c + "transform", c + "extract"]


@pytest.mark.timeout(180)
def test_hook_lineage_off(dags, lineage_store, trace_all, monkeypatch):
    monkeypatch.setenv("AIRFLOW__MLTRACE__HOOK_LINEAGE", "False")
    dr = run_dag(dags, "mltrace_hook_files")
    assert [row[5:] for row in runs_of(lineage_store, dr)] == [((), ())] * 3


@pytest.mark.postgres
@pytest.mark.timeout(240)
def test_sql_hooks_tables_are_traced(dags, lineage_store, trace_all, fresh_pg_database, monkeypatch):
    from sqlalchemy.engine import make_url

    warehouse = make_url(fresh_pg_database)
    monkeypatch.setenv(
        "AIRFLOW_CONN_MLTRACE_WAREHOUSE", fresh_pg_database.replace("postgresql+psycopg2", "postgres")
    )
    dr = run_dag(dags, "mltrace_hook_sql")
    assert dr.state == "success"
    table = f"postgres://{warehouse.host}:{warehouse.port or 5432}/{warehouse.database}.public.{{}}".format
    c = "mltrace_hook_sql."
    rows = runs_of(lineage_store, dr)
    assert rows == [
        # CREATE TABLE counts as writing the table, as the OpenLineage provider says
        (
            c + "load",
            "load",
            -1,
            1,
            "success",
            (table("customers"), table("orders")),
            (table("customers"), table("orders"), table("totals")),
        ),
        (
            c + "summarize",
            "summarize",
            -1,
            1,
            "success",
            (table("customers"), table("totals")),
            (table("report"),),
        ),
    ]
    report = lineage_store.trace(table("report"))
    assert [n.run.component for n in report.nodes] == [c + "summarize", c + "load"]
    Store(fresh_pg_database).dispose()
