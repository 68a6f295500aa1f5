"""A plain, untraced DAG: no mltrace import, only standard operators with Asset inlets/outlets.

With ``AIRFLOW__MLTRACE__TRACE_ALL_TASKS=True`` the mltrace listener logs each of its task tries anyway
(component ``churn_report.<task_id>``, inputs and outputs from the Assets), and because the
``churn_predictions`` Asset is the pointer the traced ``merge_predictions`` task wrote, a trace of the
summary goes on through the traced DAGs.
"""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from churn_assets import PREDICTIONS, PREDICTIONS_PATH, SUMMARY, SUMMARY_PATH


def summarize() -> dict:
    with open(PREDICTIONS_PATH, newline="") as fh:
        scores = [float(row["churn_probability"]) for row in csv.DictReader(fh)]
    summary = {
        "customers": len(scores),
        "at_risk": sum(s > 0.5 for s in scores),
        "mean_probability": round(sum(scores) / len(scores), 4),
    }
    Path(SUMMARY_PATH).parent.mkdir(parents=True, exist_ok=True)
    tmp = f"{SUMMARY_PATH}.{os.getpid()}.tmp"  # reports may run at once: replace the file in one step
    Path(tmp).write_text(json.dumps(summary, indent=1))
    os.replace(tmp, SUMMARY_PATH)
    return summary


with DAG(
    dag_id="churn_report",
    description="Summarize the latest churn predictions (untraced: logged by the listener only)",
    schedule=[PREDICTIONS],
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["mltrace-example"],
):
    report = PythonOperator(
        task_id="summarize", python_callable=summarize, inlets=[PREDICTIONS], outlets=[SUMMARY]
    )
    notify = BashOperator(task_id="notify", bash_command='echo "churn summary ready"')
    report >> notify
