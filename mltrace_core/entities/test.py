"""``Test``: reusable checks a Component runs on its function's arguments (``beforeTests``) or on its
local variables when it returns (``afterTests``), as in mltrace 0.17. Each test method's outcome is kept
with the run (pass/fail and message) and shown by ``inspect``."""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from mltrace_core.runs import TestResult

# Where the test methods that run now report: (phase, results) while a Component runs its tests.
_collector: ContextVar[tuple[str, list[TestResult]] | None] = ContextVar("mltrace_tests", default=None)


@contextmanager
def collecting(phase: str, into: list[TestResult]) -> Iterator[None]:
    """Test methods run inside this block add their results to ``into``, as ``phase``."""
    token = _collector.set((phase, into))
    try:
        yield
    finally:
        _collector.reset(token)


class Test:
    """A group of checks: every method whose name starts with ``test`` is one. A method takes, by name,
    the function's arguments (before tests) or local variables (after tests) it needs; it fails by
    raising. The first failure stops the group and propagates, as in 0.17."""

    __test__ = False  # pytest: not a test class of its own, nor are its subclasses

    def __init__(self, name: str = "") -> None:
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    def getTestMethods(self) -> list[Callable[..., Any]]:
        """The bound methods whose names start with ``test``, by name."""
        return [fn for name, fn in inspect.getmembers(self, inspect.ismethod) if name.startswith("test")]

    def runTests(self, **kwargs: Any) -> None:
        """Run every test method with the keyword arguments it names; raise the first failure."""
        collector = _collector.get()
        label = self.name or type(self).__name__
        for method in self.getTestMethods():
            params = inspect.signature(method).parameters
            args = {k: v for k, v in kwargs.items() if k in params}
            try:
                getattr(self, method.__name__)(**args)
            except Exception as exc:
                if collector is not None:
                    message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                    collector[1].append(
                        TestResult(collector[0], f"{label}.{method.__name__}", False, message)
                    )
                raise
            if collector is not None:
                collector[1].append(TestResult(collector[0], f"{label}.{method.__name__}", True, ""))
