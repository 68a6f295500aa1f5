# Copied from mltrace 0.17 (https://github.com/loglabs/mltrace, tag 0.17, examples/dvc-mltrace/02_summary_stats.py),
# Copyright the mltrace authors, licensed under the Apache License, Version 2.0
# (http://www.apache.org/licenses/LICENSE-2.0). Changed for mltrace-airflow: the import lines
# (mltrace -> mltrace_core); nothing else.
import pandas as pd
from mltrace_core import create_component, register


@register(component_name="summary", input_vars=["input_filepath"],
          output_vars=['output_filepath'])
def summary(input_filepath: str, output_filepath: str) -> str:
    """
    print some simple stats about dataset
    """
    abalone_data = pd.read_csv(input_filepath)
    summary_stats = abalone_data.describe()
    summary_stats.to_csv(output_filepath, index=False)


if __name__ == "__main__":
    create_component(
      name="summary",
      description="print some simple stats about dataset",
      owner="jeanne",
      tags=['eda'],)
    summary('data/abalone.csv', 'data/summary_stats.csv')
