"""The churn pipeline in plain Python, logged with mltrace_core (no Airflow needed).

    python dags/plain_python_pipeline.py [DATA_DIR]

Each step is one run; every file carries its content hash as the pointer version, so a trace of the
predictions names the exact model and data that made them. Run it twice: the second trace follows the
second run only.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import ml_steps

import mltrace_core as mltrace
from mltrace_core import IOPointer


def versioned(path: str) -> IOPointer:
    return IOPointer(path, version=ml_steps.content_version(path))


def main(data_dir: str = "data") -> str:
    d = Path(data_dir)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    raw, batch = str(d / "raw/customers.csv"), str(d / "raw/new_customers.csv")
    report, features = str(d / "reports/validation.json"), str(d / "features/customers.json")
    model, metrics = str(d / "models/churn.json"), str(d / "reports/metrics.json")
    predictions = str(d / "predictions/churn_scores.csv")
    for name, tags in (("ingest", ["data"]), ("validate", ["data", "quality"]), ("featurize", ["data"])):
        mltrace.create_component(name, f"churn pipeline: {name}", "ml-team", tags)
    for name in ("train", "evaluate", "predict"):
        mltrace.create_component(name, f"churn pipeline: {name}", "ml-team", ["model"])

    with mltrace.run("ingest") as run:
        ml_steps.ingest(raw, seed=int(stamp[-6:]))
        ml_steps.ingest(batch, seed=int(stamp[-6:]) + 1, rows=50)
        run.add_outputs([versioned(raw), versioned(batch)])
    with mltrace.run("validate", inputs=[versioned(raw)]) as run:
        ml_steps.validate(raw, report)
        run.add_output(versioned(report))
    with mltrace.run("featurize", inputs=[versioned(raw), versioned(report)]) as run:
        ml_steps.featurize(raw, features)
        run.add_output(versioned(features))
    with mltrace.run("train", inputs=[versioned(features)]) as run:
        result = ml_steps.train(features, model)
        run.add_output(versioned(model))
        run.notes = f"weights={[round(w, 3) for w in result['weights']]}"
    with mltrace.run("evaluate", inputs=[versioned(model), versioned(features)]) as run:
        scores = ml_steps.evaluate(model, features, metrics)
        run.add_output(versioned(metrics))
        run.notes = f"accuracy={scores['accuracy']} auc={scores['auc']}"
    with mltrace.run("predict", inputs=[versioned(model), versioned(batch)]) as run:
        ml_steps.predict(model, batch, predictions)
        run.add_output(versioned(predictions))
    return predictions


if __name__ == "__main__":
    print(main(*sys.argv[1:2]))
