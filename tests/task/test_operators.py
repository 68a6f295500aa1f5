"""Traced operators beyond the examples: ``traced()`` on other operators, deferral, refused names,
failures that must look exactly like untraced ones, and how DAG authors write pointers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.airflow import run_dag, runs_of

pytestmark = pytest.mark.airflow


@pytest.mark.timeout(120)
def test_traced_factory_deferral_and_refused_names(dags, lineage_store):
    dr = run_dag(dags, "mltrace_edge_cases")
    assert sorted((ti.task_id, ti.state) for ti in dr.get_task_instances()) == [
        ("bad_pointer", "success"),  # its output name has a newline: refused, logged nowhere, task fine
        ("declare", "success"),
        ("wait", "success"),
    ]
    assert Path(os.environ["MLTRACE_EXAMPLE_DATA"], "test/edge/bad.txt").exists()
    assert runs_of(lineage_store, dr) == [
        # a deferrable sensor: one run for the try, written when it resumes, not a failure at deferral
        ("mltrace_edge_cases.wait", "wait", -1, 1, "success", ("clock",), ()),
        # traced(EmptyOperator): a task that only declares lineage, under a component of its own
        (
            "warehouse.sync",
            "declare",
            -1,
            1,
            "success",
            ("warehouse.customers",),
            ("postgres://warehouse:5432/analytics.public.churn_features",),
        ),
    ]
    (declare,) = lineage_store.get_runs_for_dag_run(dr.dag_id, dr.run_id, "declare")
    tags = lineage_store.get_component_run_information(declare.id).component_tags
    assert set(tags) == {"mltrace_edge_cases", "warehouse"}


@pytest.mark.timeout(120)
def test_a_failing_traced_task_fails_exactly_like_an_untraced_one(dags, lineage_store):
    from airflow.models.taskinstance import TaskInstance

    dr = run_dag(dags, "mltrace_failures")
    assert dr.state == "failed"
    tis = {ti.task_id: ti for ti in dr.get_task_instances()}

    def outcome(ti: TaskInstance):
        return (ti.state, ti.try_number, ti.max_tries)

    assert outcome(tis["traced_fail"]) == outcome(tis["plain_fail"]) == ("failed", 1, 0)
    (run,) = lineage_store.get_runs_for_dag_run(dr.dag_id, dr.run_id)
    detail = lineage_store.get_component_run_information(run.id)
    assert (detail.component, detail.status, detail.error, detail.inputs, detail.outputs) == (
        "mltrace_failures.traced_fail",
        "failed",
        "ValueError: bad data in batch 7",
        ("batch_7.csv",),
        (),
    )


@pytest.mark.timeout(60)
def test_traced_classes_take_the_tracing_arguments_everywhere_airflow_passes_them(airflow_db):
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from mltrace_airflow.operators import TracedBashOperator, TracedPythonOperator, traced

    assert traced(BashOperator) is TracedBashOperator and traced(EmptyOperator) is traced(EmptyOperator)
    assert TracedBashOperator.__name__ == "TracedBashOperator"
    assert set(TracedBashOperator.template_fields) >= {"bash_command", "env", "inputs", "outputs"}
    assert "inputs" in TracedPythonOperator.template_fields and issubclass(TracedPythonOperator, object)
    with DAG(
        "mltrace_arguments", schedule=None, default_args={"mltrace_hash_files": True, "mltrace_tags": ["t"]}
    ):
        op = TracedBashOperator(task_id="b", bash_command="true", inputs="a.csv", mltrace_conn_id="other")
        mapped = TracedPythonOperator.partial(task_id="m", python_callable=print, outputs=["x"]).expand(
            op_args=[[1], [2]]
        )
    assert (op.inputs, op.outputs, op.mltrace_tags, op.mltrace_hash_files, op.mltrace_conn_id) == (
        "a.csv",
        None,
        ["t"],
        True,
        "other",
    )
    assert mapped.partial_kwargs["outputs"] == ["x"]


@pytest.mark.timeout(60)
def test_traced_refuses_an_operator_whose_own_arguments_it_would_take_over(airflow_db):
    from airflow.sdk import BaseOperator

    from mltrace_airflow.operators import traced

    class Loader(BaseOperator):
        def __init__(self, *, inputs: list[str], **kwargs) -> None:
            super().__init__(**kwargs)
            self.inputs = inputs

    with pytest.raises(TypeError, match="Loader has its own inputs argument"):
        traced(Loader)


@pytest.mark.timeout(60)
def test_pointer_forms_dag_authors_write(tmp_path, airflow_db):
    from airflow.sdk import Asset

    from mltrace_airflow.task.tasktry import RunHandle, as_pointers, with_versions
    from mltrace_core import InvalidInputError, IOPointer

    model = tmp_path / "model.json"
    model.write_text("{}")
    got = as_pointers(
        ["a.csv", tmp_path / "b.csv", Asset(name="m", uri=f"file://{model}"), IOPointer("t", "v1"), None]
    )
    assert [(p.name, p.version) for p in got] == [
        ("a.csv", None),
        (str(tmp_path / "b.csv"), None),
        (str(model), None),  # an Asset is named by its URI in canonical form: file:///p is /p
        ("t", "v1"),
    ]
    assert [p.name for p in as_pointers("one.csv")] == ["one.csv"]
    assert [p.name for p in as_pointers(["", "  ", "a.csv"])] == ["a.csv"]  # templates that rendered empty
    assert [p.version for p in with_versions(got)] == [
        None,
        None,
        "sha256:44136fa355b3678a",  # sha256("{}")
        "v1",
    ]
    with pytest.raises(InvalidInputError, match="not dict"):
        as_pointers({"a": 1})
    with pytest.raises(InvalidInputError, match="not int"):
        as_pointers([1])

    handle = RunHandle("c", hash_files=True)
    handle.add_input(str(model))
    handle.add_output("s3://b/k", version="etag-1")
    assert [(p.name, p.version) for p in handle.inputs + handle.outputs] == [
        (str(model), "sha256:44136fa355b3678a"),
        ("s3://b/k", "etag-1"),
    ]
