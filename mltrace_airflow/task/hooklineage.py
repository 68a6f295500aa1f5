"""Hook-level lineage: what a task's hooks reported to Airflow's ``HookLineageCollector``, added to its run.

Airflow's hooks report what they touch -- ``ObjectStoragePath`` on open (read or write), copy and move;
the S3/GCS hooks on transfers; SQL hooks each statement they run (as text) -- to a process-wide collector
(``airflow.sdk.lineage``), which collects only when a plugin declares a hook-lineage reader: the mltrace
plugin declares :class:`MltraceHookLineageReader` while ``[mltrace] hook_lineage`` is on (the default).

At the end of each traced try (traced operators and the listener), the assets reported *during that try*
become its pointers: inputs and outputs, named by their URI in canonical form (``file:///p`` is ``/p``).
The collector is per process and never reset -- under ``dag.test()`` one process runs every task -- so a
try takes a :func:`snapshot` when it starts and keeps only what was reported since (:func:`since`): an
entry counts if it is new or its count went up.

SQL statements are turned into tables by the OpenLineage provider's SQL parser when the provider is
installed (the same parser, database info and table naming it uses for its own events: tables named
``postgres://host:port/db.schema.table``); without it they add nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mltrace_airflow import compat
from mltrace_airflow.task.tasktry import asset_pointer
from mltrace_core import IOPointer
from mltrace_core.naming import pointer_of_dataset

log = logging.getLogger("mltrace_airflow")
SQL_EXTRA = "sql_job"  # common-sql's SqlJobHookLineageExtra.KEY


class MltraceHookLineageReader(compat.HookLineageReader):
    """Declared by the mltrace plugin: its presence makes Airflow's hook-lineage collector collect. mltrace
    reads the collector itself, per try (:func:`since`)."""


@dataclass(frozen=True)
class Snapshot:
    """How many times each collected entry had been reported when a try started."""

    inputs: Counter = field(default_factory=Counter)
    outputs: Counter = field(default_factory=Counter)
    extra: Counter = field(default_factory=Counter)


def _collected() -> Any | None:
    """What the collector holds, or ``None`` if it was never made in this process (so nothing was
    collected: making it now would import every provider's asset handlers for nothing)."""
    if not compat.hook_lineage_collector_created():
        return None
    return compat.get_hook_lineage_collector().collected_assets


def _asset_key(info: Any) -> tuple:
    return (info.asset.uri, id(info.context))


def _extra_key(info: Any) -> tuple:
    return (info.key, repr(info.value), id(info.context))


def snapshot() -> Snapshot:
    """The collector's counts now (taken when a try starts)."""
    collected = _collected()
    if collected is None:
        return Snapshot()
    return Snapshot(
        Counter({_asset_key(i): i.count for i in collected.inputs}),
        Counter({_asset_key(i): i.count for i in collected.outputs}),
        Counter({_extra_key(i): i.count for i in collected.extra}),
    )


def since(before: Snapshot) -> tuple[list[IOPointer], list[IOPointer]]:
    """(inputs, outputs): the pointers the try's hooks reported after ``before`` was taken."""
    collected = _collected()
    if collected is None:
        return [], []
    inputs = [asset_pointer(i.asset) for i in collected.inputs if i.count > before.inputs[_asset_key(i)]]
    outputs = [asset_pointer(i.asset) for i in collected.outputs if i.count > before.outputs[_asset_key(i)]]
    statements = [e for e in collected.extra if e.key == SQL_EXTRA and e.count > before.extra[_extra_key(e)]]
    if statements:
        tables_in, tables_out = _sql_tables(statements)
        inputs += tables_in
        outputs += tables_out
    return _unique(inputs), _unique(outputs)


def of_try(before: Snapshot | None) -> tuple[list[IOPointer], list[IOPointer]]:
    """:func:`since`, for a try ending: nothing without a snapshot, and a failure to read the collector is
    a warning, never a lost run."""
    if before is None:
        return [], []
    try:
        return since(before)
    except Exception:
        log.warning("mltrace: could not read the hook-level lineage of the try", exc_info=True)
        return [], []


def _sql_tables(statements: list) -> tuple[list[IOPointer], list[IOPointer]]:
    """The tables SQL statements read and wrote, parsed as the OpenLineage provider parses them."""
    try:
        parse = compat.openlineage_sql_lineage()
    except ImportError:
        return [], []
    inputs: list[IOPointer] = []
    outputs: list[IOPointer] = []
    for info in statements:
        value = info.value if isinstance(info.value, dict) else {}
        sql = value.get("sql")
        if not sql:
            continue
        try:
            lineage = parse(info.context, sql, value.get("default_db"))
        except Exception:  # a statement the parser cannot read adds nothing; the try goes on
            log.debug("mltrace: could not parse a SQL statement for hook lineage", exc_info=True)
            continue
        if lineage is None:
            continue
        inputs += [IOPointer(pointer_of_dataset(d.namespace, d.name)) for d in lineage.inputs]
        outputs += [IOPointer(pointer_of_dataset(d.namespace, d.name)) for d in lineage.outputs]
    return inputs, outputs


def _unique(pointers: list[IOPointer]) -> list[IOPointer]:
    return list({p.name: p for p in pointers}.values())
