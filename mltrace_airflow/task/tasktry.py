"""One Airflow task try -> one mltrace run record. Shared by the traced operators and the listener.

A try's run carries its Airflow identity (dag_id, run_id, task_id, try_number, map_index and the link to
its task-instance page), whose key makes writing the same try twice harmless. Its pointers are the
task's declared ``inputs``/``outputs`` (traced operators) and ``inlets``/``outlets`` (any operator; an
Asset is named by its URI in canonical form, :func:`asset_pointer`), plus what the task code added at
run time through :class:`RunHandle`.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from airflow.sdk import Asset

from mltrace_airflow.task import olrun
from mltrace_core import ComponentRun, ExternalIdentity, InvalidInputError, IOPointer, RunRecord
from mltrace_core.naming import canonical

log = logging.getLogger("mltrace_airflow")
_HASH_CHUNK = 1 << 20


def component_name(task: Any) -> str:
    """The default component of a task: ``<dag_id>.<task_id>``."""
    return f"{task.dag_id}.{task.task_id}"


def identity(ti: Any) -> ExternalIdentity:
    """The Airflow identity of a task try, with the URL of its task-instance page (for this try) and the
    run ids OpenLineage gives the try and its DAG run (:mod:`mltrace_airflow.task.olrun`)."""
    try:
        url = ti.log_url
    except Exception:  # the URL is a convenience; a try without one is still a try
        url = None
    try:
        openlineage = olrun.ids(ti)
    except Exception:  # likewise: a try whose DAG run cannot be read is still a try
        log.warning("mltrace: no OpenLineage run id for %s", getattr(ti, "task_id", ti), exc_info=True)
        openlineage = {}
    return ExternalIdentity(
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        try_number=ti.try_number,
        map_index=-1 if ti.map_index is None else ti.map_index,
        url=url,
        **openlineage,
    )


def try_key(ti: Any) -> str | None:
    return identity_key(ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number)


def identity_key(dag_id, run_id, task_id, map_index, try_number) -> str | None:
    return ExternalIdentity(dag_id, run_id, task_id, try_number, map_index).key


def as_pointers(value: Any, what: str = "pointer") -> list[IOPointer]:
    """Pointers from what a DAG author may write: a name (str or path), an Asset (its URI), an
    :class:`IOPointer`, or a list/tuple/set of those. ``None`` and empty names are no pointer."""
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike, IOPointer)) or _is_asset(value):
        value = [value]
    if not isinstance(value, Iterable) or isinstance(value, (bytes, dict)):
        raise InvalidInputError(
            f"{what}s must be a name, an Asset or a list of them, not {type(value).__name__}"
        )
    if isinstance(value, Sequence) and not isinstance(value, (list, tuple)):
        value = value[:]  # an XCom sequence: one request for all items, not one per item
    out = []
    for item in value:
        if isinstance(item, IOPointer):
            out.append(item)
        elif isinstance(item, str):
            if item.strip():  # a template that rendered to nothing names nothing
                out.append(IOPointer(item))
        elif _is_asset(item):  # before PathLike: an Asset is one too (its fspath is its URI)
            out.append(asset_pointer(item))
        elif isinstance(item, os.PathLike):
            out.append(IOPointer(os.fspath(item)))
        elif item is None:
            continue
        else:
            raise InvalidInputError(f"a {what} is a name, a path or an Asset, not {type(item).__name__}")
    return out


def lineage_pointers(objects: Any) -> list[IOPointer]:
    """The pointers among a task's ``inlets``/``outlets``: every Asset, by URI. Other kinds of lineage
    objects (asset aliases, references by name) name no resource yet and are left out."""
    if not objects:
        return []
    if not isinstance(objects, (list, tuple, set)):
        objects = [objects]
    return [asset_pointer(obj) for obj in objects if _is_asset(obj)]


def asset_pointer(asset: Any) -> IOPointer:
    """The pointer an Airflow Asset names: its URI in canonical form (``file:///p`` is ``/p``,
    ``postgres://host/db/schema/table`` is ``postgres://host:5432/db.schema.table``)."""
    return IOPointer(canonical(asset.uri))


def _is_asset(obj: Any) -> bool:
    return isinstance(obj, Asset)


def local_path(name: str) -> Path | None:
    """The local file a pointer names, if any: a ``file://`` URI or an existing path."""
    if name.startswith("file://"):
        path = Path(unquote(urlparse(name).path))
    elif "://" in name:
        return None
    else:
        path = Path(name)
    return path if path.is_file() else None


def file_version(path: Path) -> str:
    """A content version, ``sha256:`` and the first 16 hex digits of the file's SHA-256 (the same form
    as the example pipeline's ``ml_steps.content_version``)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()[:16]}"


def with_versions(pointers: list[IOPointer]) -> list[IOPointer]:
    """``pointers``, each local file without a version given its content version (unreadable files
    keep no version: a missing version is never an error)."""
    out = []
    for p in pointers:
        if p.version is None:
            path = local_path(p.name)
            if path is not None:
                try:
                    p = IOPointer(p.name, file_version(path), p.type)
                except OSError:
                    pass
        out.append(p)
    return out


class RunHandle:
    """The run of the current task try, for task code to add what it read and wrote at run time.

    A traced Python task receives it as its ``mltrace`` argument (``def step(mltrace=None)``), or reads
    it from the task context: ``get_current_context()["mltrace"]``. Pointers are names, paths, Assets or
    IOPointers; with ``mltrace_hash_files=True`` an input file is versioned when added and an output
    file when the try ends."""

    def __init__(self, component: str, hash_files: bool = False) -> None:
        self.component = component
        self.notes = ""
        self.code_version: str | None = None
        self.inputs: list[IOPointer] = []
        self.outputs: list[IOPointer] = []
        self._hash_files = hash_files

    def __repr__(self) -> str:
        return f"RunHandle({self.component!r}, inputs={self.inputs}, outputs={self.outputs})"

    def add_input(self, pointer: Any, version: str | None = None) -> None:
        self.add_inputs([_versioned(pointer, version)])

    def add_inputs(self, pointers: Any) -> None:
        new = as_pointers(pointers, "input")
        self.inputs.extend(with_versions(new) if self._hash_files else new)

    def add_output(self, pointer: Any, version: str | None = None) -> None:
        self.add_outputs([_versioned(pointer, version)])

    def add_outputs(self, pointers: Any) -> None:
        self.outputs.extend(as_pointers(pointers, "output"))


def _versioned(pointer: Any, version: str | None) -> Any:
    if version is None:
        return pointer
    (p,) = as_pointers(pointer)
    return IOPointer(p.name, version, p.type)


def build_record(
    ti: Any,
    *,
    component: str,
    tags: Iterable[str] = (),
    inputs: Iterable[IOPointer] = (),
    outputs: Iterable[IOPointer] = (),
    start: datetime | None = None,
    end: datetime | None = None,
    error: BaseException | str | None = None,
    failed: bool = False,
    notes: str = "",
    code_version: str | None = None,
) -> RunRecord:
    """The validated run of one task try (raises :class:`InvalidInputError` for bad names).

    A failed try keeps its inputs and its error but no outputs: what it wrote is not trusted, so no
    later run links to it."""
    run = ComponentRun(component, notes=notes, status="failed" if failed or error is not None else "success")
    run.external = identity(ti)
    run.component_tags = tuple(dict.fromkeys([ti.dag_id, *tags]))
    run.code_version = code_version
    now = datetime.now(timezone.utc)
    run.set_start_timestamp(start or getattr(ti, "start_date", None) or now)
    started = run.start_timestamp
    run.set_end_timestamp(max(end or now, started) if started is not None else end or now)
    run.add_inputs(list(inputs))
    if run.status == "success":
        run.add_outputs(list(outputs))
    else:
        run.error = describe(error) if error is not None else "task try failed"
    return run.to_record()


def describe(error: BaseException | str) -> str:
    if isinstance(error, BaseException):
        text = str(error)
        return f"{type(error).__name__}: {text}" if text else type(error).__name__
    return str(error)
