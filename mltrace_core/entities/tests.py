"""The tests mltrace 0.17 ships (``mltrace.tests``): outlier detection on a DataFrame."""

from __future__ import annotations

from typing import Any

from mltrace_core.entities.test import Test

__all__ = ["OutliersTest"]


class OutliersTest(Test):
    def __init__(self) -> None:
        super().__init__("Outliers")

    def testZscore(self, df: Any = None, stdev_cutoff: float = 5.0) -> None:
        """No value more than ``stdev_cutoff`` standard deviations from its column's mean. Needs a pandas
        DataFrame named ``df`` (0.17 failed with a TypeError without one; this says so)."""
        if df is None:
            raise TypeError("OutliersTest needs a DataFrame named df")
        z_scores = ((df - df.mean(axis=0, skipna=True)) / df.std(axis=0, skipna=True)).abs()
        if (z_scores > stdev_cutoff).to_numpy().sum() > 0:
            raise Exception("There are outlier values!")
