"""Running mltrace 0.17's own code against mltrace_core: its unittest cases one by one, and its example
scripts as ``__main__``, on the store the test chose (``MLTRACE_DB_URI``), in a scratch directory."""

from __future__ import annotations

import os
import runpy
import sys
import unittest
from pathlib import Path

UPSTREAM = Path(__file__).parent / "upstream"
EXAMPLES = Path(__file__).parent / "examples"


def case_ids(module_name: str) -> list[str]:
    """The dotted ids of every test case in an upstream module (``Class.method``)."""
    module = __import__(f"tests.compat.upstream.{module_name}", fromlist=["_"])
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    return sorted(_flatten(suite))


def _flatten(suite) -> list[str]:
    ids = []
    for item in suite:
        ids += (
            _flatten(item) if isinstance(item, unittest.TestSuite) else [".".join(item.id().split(".")[-2:])]
        )
    return ids


def run_case(module_name: str, case: str) -> None:
    """Run one upstream test case; fail with its traceback if it fails or errs."""
    suite = unittest.defaultTestLoader.loadTestsFromName(f"tests.compat.upstream.{module_name}.{case}")
    result = unittest.TestResult()
    suite.run(result)
    problems = result.errors + result.failures
    assert result.testsRun == 1 and not problems, "\n".join(trace for _, trace in problems)


def run_example(path: Path, cwd: Path, argv: list[str] | None = None) -> dict:
    """Run an example script as ``__main__`` in ``cwd`` (its data and artifacts land there); return its
    globals."""
    old_cwd, old_argv = os.getcwd(), sys.argv
    os.chdir(cwd)
    sys.argv = [str(path), *(argv or [])]
    try:
        return runpy.run_path(str(path), run_name="__main__")
    finally:
        os.chdir(old_cwd)
        sys.argv = old_argv
