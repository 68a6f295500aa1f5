"""Building a run to log: the mltrace-compatible ``ComponentRun``/``IOPointer`` and the validated
``RunRecord`` the store writes (and the spool keeps as JSON)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from mltrace_core import validation as valid
from mltrace_core.errors import InvalidInputError
from mltrace_core.records import ExternalIdentity


class IOPointer:
    """A name of something read or written (a path, URI, table, model id), with an optional version
    (a content hash, an mtime, an ETag) and type."""

    __slots__ = ("name", "version", "type")

    def __init__(self, name: str, version: str | None = None, type: str | None = None) -> None:
        self.name = name
        self.version = version
        self.type = type

    def __repr__(self) -> str:
        extra = f", version={self.version!r}" if self.version is not None else ""
        return f"IOPointer({self.name!r}{extra})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IOPointer) and (self.name, self.version) == (other.name, other.version)

    def __hash__(self) -> int:
        return hash((self.name, self.version))


PointerLike = str | IOPointer


def as_pointer(value: PointerLike, version: str | None = None) -> IOPointer:
    if isinstance(value, IOPointer):
        return value if version is None else IOPointer(value.name, version, value.type)
    if isinstance(value, str):
        return IOPointer(value, version)
    raise InvalidInputError(f"a pointer is a name or an IOPointer, not {type(value).__name__}")


class ComponentRun:
    """One execution of a component: what it read, what it wrote, when, and how it ended."""

    def __init__(self, component_name: str, notes: str = "", status: str = "success") -> None:
        self.component_name = component_name
        self.notes = notes
        self.status = status
        self.code_version: str | None = None
        self.error: str | None = None
        self.external: ExternalIdentity | None = None
        self.component_tags: tuple[str, ...] = ()
        self.key: str | None = None  # idempotency key; default: the Airflow try, else a fresh uuid
        self.start_timestamp: datetime | None = None
        self.end_timestamp: datetime | None = None
        self.inputs: list[IOPointer] = []
        self.outputs: list[IOPointer] = []

    def __repr__(self) -> str:
        return f"ComponentRun({self.component_name!r}, inputs={self.inputs}, outputs={self.outputs})"

    def set_start_timestamp(self, ts: datetime | None = None) -> None:
        """A datetime (naive means UTC); none means now."""
        self.start_timestamp = valid.utc(ts, "start timestamp") if ts is not None else _now()

    def set_end_timestamp(self, ts: datetime | None = None) -> None:
        self.end_timestamp = valid.utc(ts, "end timestamp") if ts is not None else _now()

    def add_input(self, pointer: PointerLike, version: str | None = None) -> None:
        self.inputs.append(as_pointer(pointer, version))

    def add_inputs(self, pointers: Iterable[PointerLike]) -> None:
        for p in _iterable(pointers):
            self.add_input(p)

    def add_output(self, pointer: PointerLike, version: str | None = None) -> None:
        self.outputs.append(as_pointer(pointer, version))

    def add_outputs(self, pointers: Iterable[PointerLike]) -> None:
        for p in _iterable(pointers):
            self.add_output(p)

    def to_record(self) -> RunRecord:
        """Validate everything; raise :class:`InvalidInputError` before anything is written."""
        if self.start_timestamp is None or self.end_timestamp is None:
            missing = "start" if self.start_timestamp is None else "end"
            raise InvalidInputError(
                f"run of {self.component_name!r} has no {missing} timestamp: "
                f"call set_{missing}_timestamp() before logging it"
            )
        if self.end_timestamp < self.start_timestamp:
            raise InvalidInputError(f"run of {self.component_name!r} ends before it starts")
        external = self.external
        key = self.key or (external.key if external else None) or f"uuid:{uuid.uuid4()}"
        return RunRecord(
            key=valid.name(key, "run key", 1200),
            component=valid.name(self.component_name, "component name"),
            start=self.start_timestamp,
            end=self.end_timestamp,
            status=valid.status(self.status),
            notes=valid.text(self.notes, "notes"),
            code_version=valid.version(self.code_version),
            error=valid.text(self.error, "error", truncate=True) if self.error else None,
            external=valid.external(external),
            component_tags=tuple(valid.name(t, "tag") for t in self.component_tags),
            inputs=_pointer_rows(self.inputs),
            outputs=_pointer_rows(self.outputs),
        )


@dataclass(frozen=True)
class RunRecord:
    """A validated run, ready to write. Pointers are (name, version, type) rows, deduplicated."""

    key: str
    component: str
    start: datetime
    end: datetime
    status: str = "success"
    notes: str = ""
    code_version: str | None = None
    error: str | None = None
    external: ExternalIdentity | None = None
    component_tags: tuple[str, ...] = ()
    inputs: tuple[tuple[str, str | None, str | None], ...] = ()
    outputs: tuple[tuple[str, str | None, str | None], ...] = ()
    format: int = field(default=1, repr=False)  # spool file format

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        ext = data.get("external")
        return cls(
            key=data["key"],
            component=data["component"],
            start=datetime.fromisoformat(data["start"]),
            end=datetime.fromisoformat(data["end"]),
            status=data.get("status", "success"),
            notes=data.get("notes", ""),
            code_version=data.get("code_version"),
            error=data.get("error"),
            external=ExternalIdentity(**ext) if ext else None,
            component_tags=tuple(data.get("component_tags", ())),
            inputs=tuple(tuple(p) for p in data.get("inputs", ())),  # type: ignore[misc]
            outputs=tuple(tuple(p) for p in data.get("outputs", ())),  # type: ignore[misc]
        )


def _pointer_rows(pointers: list[IOPointer]) -> tuple[tuple[str, str | None, str | None], ...]:
    rows: dict[str, tuple[str, str | None, str | None]] = {}
    for p in pointers:
        name = valid.name(p.name, "pointer name")
        ptype = valid.name(p.type, "pointer type", 64) if p.type is not None else None
        rows[name] = (name, valid.version(p.version), ptype)  # the last mention wins
    return tuple(rows.values())


def _iterable(pointers: Iterable[PointerLike] | PointerLike) -> Iterable[PointerLike]:
    # add_inputs("a.csv") is a common slip: treat a lone name as one pointer, not as characters.
    if isinstance(pointers, (str, IOPointer)):
        return [pointers]
    return pointers


def _now() -> datetime:
    return datetime.now(timezone.utc)
