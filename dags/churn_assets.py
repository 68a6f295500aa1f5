"""What the churn example DAGs share: where their files live and the Assets that connect them.

Files live under ``$MLTRACE_EXAMPLE_DATA``, default ``$AIRFLOW_HOME/mltrace_example_data``. The model
and the predictions are Assets: the training DAG's model schedules the batch-prediction DAG, whose
predictions schedule the (untraced) report DAG. mltrace names an Asset by its URI, so the three DAGs
meet on the same pointers and one trace follows the whole chain.
"""

from __future__ import annotations

import os
from pathlib import Path

from airflow.sdk import Asset

DATA = str(
    Path(
        os.environ.get("MLTRACE_EXAMPLE_DATA")
        or Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow") / "mltrace_example_data"
    ).resolve()
)
MODEL_PATH = f"{DATA}/models/churn.json"
PREDICTIONS_PATH = f"{DATA}/predictions/churn_scores.csv"
SUMMARY_PATH = f"{DATA}/reports/churn_summary.json"
REGIONS = ("north", "south", "west")

MODEL = Asset(name="churn_model", uri=f"file://{MODEL_PATH}")
PREDICTIONS = Asset(name="churn_predictions", uri=f"file://{PREDICTIONS_PATH}")
SUMMARY = Asset(name="churn_summary", uri=f"file://{SUMMARY_PATH}")
