"""Batch churn predictions, traced into mltrace; scheduled by the ``churn_model`` Asset.

pick_model, fetch_batch (one mapped task per region) -> score (mapped, one per region) -> merge_predictions.

- ``pick_model`` fixes, once for the whole DAG run, which model it scores with: the one whose update
  triggered the run (the Asset event names the training run's own model file), else the latest. Every
  ``score`` then reads that immutable file, even if another training publishes a newer model meanwhile.
- ``fetch_batch`` is a TaskFlow task that names its output at run time through the run handle
  (``mltrace.add_output(path)``): the path depends on its argument.
- ``score`` is a classic operator mapped with ``.partial().expand()``; its templated ``inputs`` and
  ``outputs`` render per map index (``part-{{ ti.map_index }}``), and take the model's path from
  ``pick_model``'s XCom.
- ``merge_predictions`` takes its inputs from the scores' XCom (``inputs=score.output``), writes the
  run's predictions and publishes them as the ``churn_predictions`` Asset (the latest predictions).

Every file is named by the run id (see ``churn_assets``): batches overlap when models come quickly, and a
run triggered by an Asset event has no logical date.
"""

from __future__ import annotations

import csv
import zlib
from datetime import datetime
from pathlib import Path

import ml_steps
from airflow.sdk import DAG, task
from churn_assets import DATA, MODEL, PREDICTIONS, PREDICTIONS_PATH, REGIONS, RUN

from mltrace_airflow.operators import TracedPythonOperator, traced_task

BATCH = f"{DATA}/batches/{RUN}/part-{{{{ ti.map_index }}}}.csv"
SCORES = f"{DATA}/predictions/{RUN}/part-{{{{ ti.map_index }}}}.csv"
MERGED = f"{DATA}/predictions/{RUN}/churn_scores.csv"


@task(inlets=[MODEL])
def pick_model(triggering_asset_events=None, inlet_events=None) -> str:
    """The model file this run scores with: the newest that triggered it, else the latest published."""
    events = list(triggering_asset_events.get(MODEL, ())) if triggering_asset_events else []
    events = events or list(inlet_events[MODEL].ascending(False).limit(1))
    if not events:
        raise RuntimeError("no churn model has been published yet: run churn_training first")
    return max(events, key=lambda e: e.timestamp).extra["model_path"]


@traced_task(mltrace_hash_files=True, mltrace_tags=["churn"])
def fetch_batch(region: str, run_id=None, ti=None, mltrace=None) -> str:
    """Pull the new customers of one region (synthetic here, seeded by run and region)."""
    path = f"{DATA}/batches/{run_id}/part-{ti.map_index}.csv"
    ml_steps.ingest(path, seed=zlib.crc32(f"{run_id}/{region}".encode()), rows=50)
    mltrace.add_output(path)
    return path


def score_region(region: str, model_path: str, batch_path: str, scores_path: str) -> str:
    rows = ml_steps.predict(model_path, batch_path, scores_path)
    print(f"{region}: scored {rows} customers with {model_path}")
    return scores_path


def merge_predictions(parts: list[str], regions: list[str], merged_path: str, mltrace=None) -> int:
    Path(merged_path).parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(merged_path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("region", "row", "churn_probability"))
        for i, region in enumerate(regions):
            with open(parts[i], newline="") as fh:  # parts: the scores' XCom, one per region
                for row in csv.DictReader(fh):
                    writer.writerow((region, row["row"], row["churn_probability"]))
                    count += 1
    ml_steps.publish(merged_path, PREDICTIONS_PATH)
    # The version published, not what the file holds when the try ends: another run may publish meanwhile.
    mltrace.add_output(PREDICTIONS, ml_steps.content_version(merged_path))
    return count


with DAG(
    dag_id="churn_batch_predict",
    description="Score new customers with the latest churn model (traced into mltrace)",
    schedule=[MODEL],
    start_date=datetime(2025, 1, 1),
    catchup=False,
    default_args={"mltrace_hash_files": True, "mltrace_tags": ["churn"]},
    tags=["mltrace-example"],
):
    model = pick_model()
    batches = fetch_batch.expand(region=list(REGIONS))
    score = TracedPythonOperator.partial(
        task_id="score",
        python_callable=score_region,
        op_kwargs={"model_path": model, "batch_path": BATCH, "scores_path": SCORES},
        inputs=[model, BATCH],
        outputs=[SCORES],
    ).expand(op_args=[[region] for region in REGIONS])
    merge = TracedPythonOperator(
        task_id="merge_predictions",
        python_callable=merge_predictions,
        op_kwargs={"parts": score.output, "regions": list(REGIONS), "merged_path": MERGED},
        inputs=score.output,
        outputs=[MERGED],
        outlets=[PREDICTIONS],
    )
    [model, batches] >> score
