"""mltrace 0.17's example pipelines (``examples/``, copied with only their imports changed) run against
mltrace_core on both backends and log what they say they log."""

from __future__ import annotations

import random
from datetime import datetime

import pytest

import mltrace_core as mltrace
from tests.compat.harness import EXAMPLES, run_example


@pytest.fixture
def example_store(store_uri, monkeypatch, tmp_path):
    monkeypatch.setenv("MLTRACE_DB_URI", store_uri)
    monkeypatch.setenv("SAVE_DIR", str(tmp_path / "saved"))
    return mltrace.Store(store_uri)


def components_in(graph) -> set[str]:
    return {node.run.component for node in graph.nodes}


def test_tiny(example_store, tmp_path):
    found = run_example(EXAMPLES / "tiny.py", tmp_path)
    runs = example_store.get_history("tiny", 100)
    assert len(runs) == 10
    last = f"{found['_identifier']}_10"
    graph = example_store.trace(last)
    # "if you trace the last output, you should see that it depends on 9 things"
    assert [node.depth for node in graph.nodes] == list(range(10))
    assert example_store.get_component("tiny").owner == "groot"


def test_industry_ml(example_store, tmp_path, capsys):
    run_example(EXAMPLES / "industry_ml.py", tmp_path)
    output_id = capsys.readouterr().out.strip().rsplit(" ", 1)[-1]
    graph = example_store.trace(output_id)
    assert components_in(graph) == {"inference", "featuregen", "clean", "ingest", "training"}
    inference = graph.nodes[0].run
    assert inference.component == "inference"
    assert set(inference.inputs) == {"feature_clean_ingested_live_data.csv", "prod_model.joblib"}
    # the production model was trained on the features and the first model
    prod = example_store.trace("prod_model.joblib").nodes[0].run
    assert set(prod.inputs) == {"feature_clean_ingested_historical_data.csv", "model.joblib"}
    assert [c.name for c in example_store.get_components(tag="example")] == [
        "clean",
        "featuregen",
        "inference",
        "ingest",
        "training",
    ]


def test_research_ml(example_store, tmp_path):
    run_example(EXAMPLES / "research_ml.py", tmp_path)
    runs = example_store.get_history("research_model_development", 100)
    assert len(runs) == 27
    assert {len(r.inputs) for r in runs} == {3} and all(r.outputs[0].endswith("_accuracy") for r in runs)
    assert {i for r in runs for i in r.inputs} >= {"lr_0.001", "num_epochs_100", "hidden_size_256"}


@pytest.mark.skipif(datetime.utcnow().month <= 2, reason="the example computes month - 2 (0.17 fails too)")
def test_stale(example_store, tmp_path):
    run_example(EXAMPLES / "stale.py", tmp_path)
    (inference,) = example_store.get_history("inference", 10)
    assert set(inference.inputs) == {"model_0", "model_1"}
    producers = {r.component for r in example_store.get_runs(inference.dependencies)}
    assert producers == {"training", "some_old_component"}
    (old,) = example_store.get_history("some_old_component", 1)
    assert (old.end - old.start).days >= 28  # the run it fakes started two months ago
    (first, _) = example_store.get_history("training", 10)[::-1]
    # "This should be stale!": as 0.17 said it, from the old run's start and training's second run
    assert inference.stale == (  # upstream runs in id order, as 0.17 listed its dependencies
        f"training (ID {first.id}) has 1 fresher run that began before this component run started.",
        f"some_old_component (ID {old.id}) was run {(inference.start - old.start).days} days ago.",
    )


def test_new_framework(example_store, tmp_path):
    # PreprocessingComponent always checks its df for outliers afterwards; a Wald sample of 1,000 almost
    # surely has some, so the after-test fails and raises -- as with 0.17 -- and the run says why.
    import numpy as np

    np.random.seed(0)
    with pytest.raises(Exception, match="There are outlier values!"):
        run_example(EXAMPLES / "new_framework_test.py", tmp_path)
    (run,) = example_store.get_history("Preprocessing", 10)
    detail = example_store.get_component_run_information(run.id)
    assert detail.status == "failed" and "outlier" in detail.error
    assert [(t.phase, t.name, t.passed) for t in detail.tests] == [("after", "Outliers.testZscore", False)]
    assert set(detail.inputs) == {"wald", "1000"} and detail.outputs == ("hello world!",)
    assert "def gen_fake_data" in detail.code_snapshot
    component = example_store.get_component("Preprocessing")
    assert (component.owner, component.description) == ("aditi", "tests output for outliers")


def test_dvc_pipeline(example_store, tmp_path):
    rng = random.Random(1)
    (tmp_path / "data").mkdir()
    rows = [
        ",".join([rng.choice("MFI"), *(f"{rng.random():.3f}" for _ in range(7)), str(rng.randint(1, 29))])
        for _ in range(60)
    ]
    (tmp_path / "data" / "abalone.data").write_text("\n".join(rows) + "\n")
    run_example(EXAMPLES / "dvc_01_clean_data.py", tmp_path)
    run_example(EXAMPLES / "dvc_02_summary_stats.py", tmp_path)
    assert (tmp_path / "data" / "summary_stats.csv").exists()
    graph = example_store.trace("data/summary_stats.csv")
    assert [(n.depth, n.run.component) for n in graph.nodes] == [(0, "summary"), (1, "clean")]
    assert example_store.get_component("summary").tags == ("eda",)


@pytest.mark.slow
def test_auto_log(example_store, tmp_path):
    # Four steps hand a DataFrame on by value; auto_log saves each new value as an artifact and links
    # each step to the one whose output it received, whatever the variable's name.
    run_example(EXAMPLES / "auto_log.py", tmp_path)
    runs = example_store.get_history("test_auto_logging", 10)
    assert len(runs) == 4
    last = example_store.get_component_run_information(runs[0].id)
    saved = [name for name in last.outputs if "/test_auto_logging/" in name]
    assert saved, last.outputs
    graph = example_store.trace(saved[0])
    assert [n.depth for n in graph.nodes] == [0, 1, 2, 3]
