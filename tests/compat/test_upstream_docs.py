"""The Python code blocks of mltrace 0.17's logging page (docs/source/logging.rst), with only their imports
changed (docs_snippets/logging_rst.py says exactly what), run against mltrace_core on both backends and
log what the page says they log."""

from __future__ import annotations

import importlib

import pandas as pd
import pytest

import mltrace_core as mltrace


@pytest.fixture
def snippets(store_uri, monkeypatch, tmp_path):
    monkeypatch.setenv("MLTRACE_DB_URI", store_uri)
    monkeypatch.setenv("SAVE_DIR", str(tmp_path / "saved"))
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module("tests.compat.docs_snippets.logging_rst")
    return importlib.reload(module)  # the components and decorators are made with this test's store


def taxis() -> pd.DataFrame:
    return pd.DataFrame({"fare": [float(10 + i % 7) for i in range(200)], "zone": ["a", "b"] * 100})


def test_a_custom_component(snippets):
    c = snippets.Cleaning("taxi", "plumber", tags=["nyc"])

    @c.run(input_vars=["raw"], output_vars=["out"])
    def clean(raw):
        out = raw.replace(".csv", "_clean.csv")
        return out

    assert clean("trips.csv") == "trips_clean.csv"
    (run,) = mltrace.get_history("cleaning_taxi")
    assert (run.inputs, run.outputs) == (("trips.csv",), ("trips_clean.csv",))
    component = mltrace.get_component_information("cleaning_taxi")
    assert (component.owner, component.description, component.tags) == (
        "plumber",
        "Basic component to clean raw data",
        ("nyc",),
    )


def test_decorator_approach_logs_dynamic_information(snippets):
    assert snippets.clean_data_1(taxis()) is Ellipsis
    (run,) = mltrace.get_history("cleaning")
    detail = mltrace.get_component_run_information(run.id)
    # auto_log: the DataFrame argument is saved under SAVE_DIR and is the run's input
    assert len(detail.inputs) == 1 and "/saved/" in detail.inputs[0]
    assert "def clean_data_1" in detail.code_snapshot
    assert mltrace.get_component_information("cleaning").owner == "plumber"


def test_python_approach(snippets, tmp_path):
    taxis().to_csv(tmp_path / "taxi.csv", index=False)
    first = snippets.clean_data_2("taxi.csv")
    assert (tmp_path / first).exists()
    again = snippets.clean_data_2(first)  # the cleaned file, cleaned again: the second run reads the first's
    runs = mltrace.get_history("cleaning")
    assert [(r.inputs, r.outputs) for r in runs] == [((first,), (again,)), (("taxi.csv",), (first,))]
    assert runs[0].dependencies == (runs[1].id,)
    assert [n.run.id for n in mltrace.trace(again).nodes] == [runs[0].id, runs[1].id]


def test_testing_runs_the_tests_before_the_function(snippets, capsys):
    assert snippets.clean_data_3(taxis()) is Ellipsis
    assert "Dataframe statistics:" in capsys.readouterr().out
    (run,) = mltrace.get_history("cleaning")
    detail = mltrace.get_component_run_information(run.id)
    assert [(t.phase, t.name, t.passed) for t in detail.tests] == [
        ("before", "outliers.testComputeStats", True),  # the name the Test gave itself
        ("before", "outliers.testZScore", True),
    ]
    # six cells five deviations out in 100 rows: more than the test's 5% of the rows
    outliers = pd.DataFrame(
        {f"fare{c}": [1e9 if i == c else 10.0 + i % 7 for i in range(100)] for c in range(6)}
    )
    with pytest.raises(Exception, match="There are outlier values!"):
        snippets.clean_data_3(outliers)
    failed = mltrace.get_component_run_information(mltrace.get_history("cleaning")[0].id)
    assert failed.status == "failed" and [t.passed for t in failed.tests] == [True, False]
