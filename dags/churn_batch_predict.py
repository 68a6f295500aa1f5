"""Batch churn predictions, traced into mltrace; scheduled by the ``churn_model`` Asset.

fetch_batch (one mapped task per region) -> score (mapped, one per region) -> merge_predictions.

- ``fetch_batch`` is a TaskFlow task that names its output at run time through the run handle
  (``mltrace.add_output(path)``): the path depends on its argument.
- ``score`` is a classic operator mapped with ``.partial().expand()``; its templated ``inputs`` and
  ``outputs`` render per map index (``part-{{ ti.map_index }}``); the model comes in as an Asset inlet.
- ``merge_predictions`` takes its inputs from the scores' XCom (``inputs=score.output``) and updates
  the ``churn_predictions`` Asset.
"""

from __future__ import annotations

import csv
import zlib
from datetime import datetime
from pathlib import Path

import ml_steps
from airflow.sdk import DAG
from churn_assets import DATA, MODEL, MODEL_PATH, PREDICTIONS, PREDICTIONS_PATH, REGIONS

from mltrace_airflow.operators import TracedPythonOperator, traced_task

BATCH = DATA + "/batches/{{ ds }}/part-{{ ti.map_index }}.csv"
SCORES = DATA + "/predictions/{{ ds }}/part-{{ ti.map_index }}.csv"


@traced_task(mltrace_hash_files=True, mltrace_tags=["churn"])
def fetch_batch(region: str, ds=None, run_id=None, ti=None, mltrace=None) -> str:
    """Pull the new customers of one region (synthetic here, seeded by run and region)."""
    path = f"{DATA}/batches/{ds}/part-{ti.map_index}.csv"
    ml_steps.ingest(path, seed=zlib.crc32(f"{run_id}/{region}".encode()), rows=50)
    mltrace.add_output(path)
    return path


def score_region(region: str, batch_path: str, scores_path: str) -> str:
    rows = ml_steps.predict(MODEL_PATH, batch_path, scores_path)
    print(f"{region}: scored {rows} customers")
    return scores_path


def merge_predictions(parts: list[str], regions: list[str]) -> int:
    Path(PREDICTIONS_PATH).parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(PREDICTIONS_PATH, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("region", "row", "churn_probability"))
        for i, region in enumerate(regions):
            with open(parts[i], newline="") as fh:  # parts: the scores' XCom, one per region
                for row in csv.DictReader(fh):
                    writer.writerow((region, row["row"], row["churn_probability"]))
                    count += 1
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
    batches = fetch_batch.expand(region=list(REGIONS))
    score = TracedPythonOperator.partial(
        task_id="score",
        python_callable=score_region,
        op_kwargs={"batch_path": BATCH, "scores_path": SCORES},
        inputs=[BATCH],
        inlets=[MODEL],
        outputs=[SCORES],
    ).expand(op_args=[[region] for region in REGIONS])
    merge = TracedPythonOperator(
        task_id="merge_predictions",
        python_callable=merge_predictions,
        op_kwargs={"parts": score.output, "regions": list(REGIONS)},
        inputs=score.output,
        outlets=[PREDICTIONS],
    )
    batches >> score
