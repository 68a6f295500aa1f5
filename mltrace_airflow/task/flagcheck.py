"""Stop the spread of bad data: a traced try that reads a flagged input warns, or fails before its code runs.

``[mltrace] on_flagged_input`` (:func:`mltrace_airflow.config.on_flagged_input`):

- ``ignore``: no check at all (no store call);
- ``warn`` (default): a warning naming each flag (target, who, when, why) in the task log, and the same
  lines in the run's notes, so the tab and ``inspect`` show that this try read flagged data;
- ``fail``: the traced operator raises :class:`FlaggedInputError` before the task's code runs; its run is
  logged as failed with that error. The listener cannot stop a task (Airflow swallows a listener's
  exceptions), so for tries it traces ``fail`` warns.

What a flagged input is: an input the flag reaches (the pointer, or the flagged version of it the try
reads: an unversioned input reads the latest), or one made from flagged data -- a flag reaching a run in
the input's lineage, so a batch scored with a model trained on a flagged export is stopped too. The check
is one store statement (:meth:`mltrace_core.Store.flags_on`; one index probe when nothing is flagged)
for the inputs known before the try runs (declared inputs and inlets); inputs added at run time
(``RunHandle``, hook lineage) are checked when the try ends, for the warning only. It is a lineage side effect like any other: bounded by
``[mltrace] timeout``, and if the store cannot answer the try goes on with a warning -- a store that is
down never stops a pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from mltrace_airflow import config
from mltrace_airflow.task.delivery import guard
from mltrace_core import IOPointer, MltraceError
from mltrace_core.flags import FlagHit

log = logging.getLogger("mltrace_airflow")


class FlaggedInputError(MltraceError):
    """``[mltrace] on_flagged_input = fail``: the try reads a flagged input, so it fails before its code
    runs (Airflow's retries apply as usual: a retry after the flag is ended runs)."""


def mode() -> str:
    with guard("reading [mltrace] on_flagged_input"):
        return config.on_flagged_input()
    return "warn"


def flags_on(inputs: Iterable[IOPointer], conn_id: str | None, action: str) -> list[FlagHit]:
    """The active flags reaching ``inputs`` (``[]`` with ``ignore``, no inputs, or a store that cannot
    answer: then a warning, and the try goes on)."""
    pairs = [(p.name, p.version) for p in inputs]
    if action == "ignore" or not pairs:
        return []
    with guard("checking the inputs for flags (the try goes on unchecked)"):
        from mltrace_airflow.hooks.mltrace import MltraceHook

        store = MltraceHook(mltrace_conn_id=conn_id or config.conn_id(), timeout=config.timeout()).get_store()
        return store.flags_on(pairs)
    return []


def _read(hit: FlagHit) -> str:
    return "read a flagged input" if hit.run is None else "an input was made from flagged data"


def notes(flags: list[FlagHit]) -> str:
    """The lines a run's notes get: one per flag."""
    return "\n".join(f"mltrace: {_read(f)}: {f.describe()}" for f in flags)


def warn(what: str, flags: list[FlagHit]) -> None:
    for f in flags:
        log.warning("mltrace: %s reads a flagged input: %s", what, f.describe())


def error(what: str, flags: list[FlagHit]) -> FlaggedInputError:
    listed = "; ".join(f.describe() for f in flags)
    return FlaggedInputError(
        f"{what} reads flagged input{'s' if len(flags) > 1 else ''}: {listed} "
        "([mltrace] on_flagged_input = fail; unflag it or set warn to let it run)"
    )
