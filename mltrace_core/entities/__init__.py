"""mltrace 0.17's ``mltrace.entities``: the classes code builds runs with, and the prebuilt components and
tests. Import from here or from :mod:`mltrace_core` alike."""

from mltrace_core.entities import components, tests
from mltrace_core.entities.component import Component
from mltrace_core.entities.component_run import ComponentRun
from mltrace_core.entities.io_pointer import IOPointer
from mltrace_core.entities.test import Test

__all__ = [
    "Component",
    "ComponentRun",
    "IOPointer",
    "components",
    "Test",
    "tests",
]
