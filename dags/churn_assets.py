"""What the churn example DAGs share: where their files live and the Assets that connect them.

Files live under ``$MLTRACE_EXAMPLE_DATA``, default ``$AIRFLOW_HOME/mltrace_example_data``. The model
and the predictions are Assets: the training DAG's model schedules the batch-prediction DAG, whose
predictions schedule the (untraced) report DAG. mltrace names an Asset by its URI, in its canonical form
(``file:///p`` is the path ``/p``, see ``mltrace_core.naming``), so the three DAGs meet on the same
pointers -- also with tasks that name the files by path -- and one trace follows the whole chain.

Every file a DAG run writes is named by its run id (:data:`RUN`), never by ``{{ ds }}``: runs of one DAG
may overlap (several trainings at once, a batch per new model), and a run triggered by an Asset event or
by the REST API has no logical date, hence no ``ds``. The Assets are the *latest* model and predictions:
a run writes its own file first, then publishes it over the Asset's file in one rename.
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
RUN = "{{ run_id }}"  # the directory of one DAG run's files (a Jinja template: use in templated fields)

MODEL = Asset(name="churn_model", uri=f"file://{MODEL_PATH}")
PREDICTIONS = Asset(name="churn_predictions", uri=f"file://{PREDICTIONS_PATH}")
SUMMARY = Asset(name="churn_summary", uri=f"file://{SUMMARY_PATH}")
