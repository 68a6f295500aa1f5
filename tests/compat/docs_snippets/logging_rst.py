# The Python code blocks of mltrace 0.17's docs/source/logging.rst (https://github.com/loglabs/mltrace,
# tag 0.17), Copyright the mltrace authors, licensed under the Apache License, Version 2.0
# (http://www.apache.org/licenses/LICENSE-2.0). Changed for mltrace-airflow: the import lines
# (mltrace -> mltrace_core); `def testComputeStats(self; df...)` (a typo in the docs: a syntax error) reads
# `self, df`; the blocks are joined in the page's order, and the page's hypothetical `...` cleaning steps
# are kept as they are. Each `clean_data` of the page is numbered here so that all of them can be called.
from datetime import datetime  # noqa: F401 -- the page imports it (for a text that is not an f-string)

import pandas as pd

from mltrace_core import Component, ComponentRun, Test, get_git_hash, log_component_run


class Cleaning(Component):
    def __init__(self, name, owner, tags=[], beforeTests=[], afterTests=[]):  # noqa: B006 -- as on the page
        super().__init__(
            name="cleaning_" + name,
            owner=owner,
            description="Basic component to clean raw data",
            tags=tags,
            beforeTests=beforeTests,
            afterTests=afterTests,
        )


# "Decorator approach"
c = Component(
    name="cleaning",
    owner="plumber",
    description="Cleans raw NYC taxicab data",
)


@c.run(auto_log=True)
def clean_data_1(df: pd.DataFrame) -> str:
    # Do some cleaning
    clean_df = ...
    return clean_df


# "Python approach"
def clean_data_2(filename: str) -> str:
    # Create ComponentRun object
    cr = ComponentRun("cleaning")
    cr.set_start_timestamp()
    cr.add_input(filename)
    cr.git_hash = get_git_hash()  # Sets git hash, not source code snapshot!

    df = pd.read_csv(filename)
    # Do some cleaning
    ...
    # Save cleaned dataframe
    clean_version = filename[:-4] + '_clean_{datetime.utcnow().strftime("%m%d%Y%H%M%S")}.csv'
    df.to_csv(clean_version)

    # Finish logging
    cr.set_end_timestamp()
    cr.add_output(clean_version)
    log_component_run(cr)

    return clean_version


# "Testing"
class OutliersTest(Test):
    def __init__(self):
        super().__init__(name="outliers")

    def testComputeStats(self, df: pd.DataFrame):
        # Get numerical columns
        num_df = df.select_dtypes(include=["number"])

        # Compute stats
        stats = num_df.describe()
        print("Dataframe statistics:")
        print(stats)

    def testZScore(
        self,
        df: pd.DataFrame,
        stdev_cutoff: float = 5.0,
        threshold: float = 0.05,
    ):
        """
        Checks to make sure there are no outliers using z score cutoff.
        """
        # Get numerical columns
        num_df = df.select_dtypes(include=["number"])

        z_scores = ((num_df - num_df.mean(axis=0, skipna=True)) / num_df.std(axis=0, skipna=True)).abs()

        if (z_scores > stdev_cutoff).to_numpy().sum() > threshold * len(df):
            print(f"Number of outliers: {(z_scores > stdev_cutoff).to_numpy().sum()}")
            print(f"Outlier threshold: {threshold * len(df)}")
            raise Exception("There are outlier values!")


c = Component(
    name="cleaning",
    owner="plumber",
    description="Cleans raw NYC taxicab data",
    beforeTests=[OutliersTest],
)


@c.run(auto_log=True)
def clean_data_3(df: pd.DataFrame) -> str:
    # Do some cleaning
    clean_df = ...
    return clean_df
