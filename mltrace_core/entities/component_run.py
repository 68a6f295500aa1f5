"""``ComponentRun``: one run being built, to log (mltrace 0.17's constructor, properties and methods, plus
what this store keeps besides: a status, an error, an Airflow identity...).

Nothing is checked until the run is logged (:meth:`ComponentRun.to_record`), except the types 0.17
checked when an attribute is set (``TypeError``): a run with a bad name is refused whole, never half
written."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any, cast

from mltrace_core import validation as valid
from mltrace_core.entities.io_pointer import IOPointer, PointerLike
from mltrace_core.errors import InvalidTypeError
from mltrace_core.records import ExternalIdentity
from mltrace_core.runs import RunRecord, TestResult
from mltrace_core.values import PointerType, pointer_type_for

# to_dictionary()'s keys, in 0.17's order
FIELDS = (
    "component_name",
    "notes",
    "inputs",
    "outputs",
    "git_hash",
    "git_tags",
    "code_snapshot",
    "start_timestamp",
    "end_timestamp",
    "dependencies",
    "id",
    "stale",
)


class ComponentRun:
    """One execution of a component: what it read, what it wrote, when, and how it ended.

    ``inputs``/``outputs`` hold each pointer once (equal name and version), in the order 0.17 gave them
    (``list(set(...))``); ``dependencies`` are the names of components set with :meth:`set_upstream`."""

    def __init__(
        self,
        component_name: str,
        notes: str = "",
        start_timestamp: datetime | None = None,
        end_timestamp: datetime | None = None,
        inputs: Iterable[PointerLike] = (),
        outputs: Iterable[PointerLike] = (),
        git_hash: str | None = None,
        git_tags: list[str] | None = None,
        code_snapshot: str | bytes | None = None,
        id: int | None = None,
        stale: Iterable[str] = (),
        dependencies: Iterable[str] = (),
        *,
        status: str = "success",
    ) -> None:
        self._component_name = component_name
        self.notes = notes
        self.status = status
        self.code_version: str | None = None
        self.error: str | None = None
        self.external: ExternalIdentity | None = None
        self.component_tags: tuple[str, ...] = ()
        self.key: str | None = None  # idempotency key; default: the Airflow try, else a fresh uuid
        self.staleness_threshold: int | None = None  # seconds; None: the store's default
        self.test_results: list[TestResult] = []
        self._start: datetime | None = None
        self._end: datetime | None = None
        if start_timestamp is not None:
            self.set_start_timestamp(start_timestamp)
        if end_timestamp is not None:
            self.set_end_timestamp(end_timestamp)
        self._ordered: dict[bool, list[IOPointer]] = {True: [], False: []}  # first-mention order
        self._lists: dict[bool, list[IOPointer]] = {True: [], False: []}
        self._add_io(list(_iterable(inputs)), True)
        self._add_io(list(_iterable(outputs)), False)
        self.git_hash = git_hash
        self.git_tags = git_tags
        self.code_snapshot = code_snapshot  # bytes are decoded
        self._id = id
        self._stale = list(stale)
        self._dependencies = list(dict.fromkeys(dependencies))

    def __repr__(self) -> str:
        return f"ComponentRun({self._component_name!r}, inputs={self.inputs}, outputs={self.outputs})"

    # -- 0.17's properties ----------------------------------------------------------------------
    @property
    def component_name(self) -> str:
        return self._component_name

    @property
    def notes(self) -> str:
        return self._notes

    @notes.setter
    def notes(self, notes: str) -> None:
        if not isinstance(notes, str):
            raise InvalidTypeError("notes field must be of type str")
        self._notes = notes

    @property
    def inputs(self) -> list[IOPointer]:
        return self._lists[True]

    @inputs.setter
    def inputs(self, pointers: Iterable[PointerLike]) -> None:
        self._ordered[True], self._lists[True] = [], []
        self._add_io(list(_iterable(pointers)), True)

    @property
    def outputs(self) -> list[IOPointer]:
        return self._lists[False]

    @outputs.setter
    def outputs(self, pointers: Iterable[PointerLike]) -> None:
        self._ordered[False], self._lists[False] = [], []
        self._add_io(list(_iterable(pointers)), False)

    @property
    def git_hash(self) -> str | None:
        return self._git_hash

    @git_hash.setter
    def git_hash(self, value: str | None) -> None:
        if value is not None and not isinstance(value, str):
            raise InvalidTypeError(f"git_hash must be a str, not {type(value).__name__}")
        self._git_hash = value

    @property
    def git_tags(self) -> list[str] | None:
        return self._git_tags

    @git_tags.setter
    def git_tags(self, value: list[str] | None) -> None:
        if isinstance(value, str):
            value = [value]
        if value is not None and (
            not isinstance(value, Iterable) or not all(isinstance(t, str) for t in value)
        ):
            raise InvalidTypeError("git_tags must be a list of str")
        self._git_tags = None if value is None else list(value)

    @property
    def code_snapshot(self) -> str | None:
        return self._code_snapshot

    @code_snapshot.setter
    def code_snapshot(self, value: str | bytes | None) -> None:
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("utf-8", "replace")
        if value is not None and not isinstance(value, str):
            raise InvalidTypeError(f"code_snapshot must be str or bytes, not {type(value).__name__}")
        self._code_snapshot = value

    @property
    def start_timestamp(self) -> datetime | None:
        return self._start

    @property
    def end_timestamp(self) -> datetime | None:
        return self._end

    @property
    def dependencies(self) -> list[str]:
        return self._dependencies

    @property
    def id(self) -> int | None:
        return self._id

    @property
    def stale(self) -> list[str]:
        return self._stale

    # -- building -------------------------------------------------------------------------------
    def set_start_timestamp(self, ts: datetime | None = None) -> None:
        """A datetime (naive means UTC); none means now. Anything else is a ``TypeError``."""
        self._start = valid.utc(ts, "start timestamp") if ts is not None else _now()

    def set_end_timestamp(self, ts: datetime | None = None) -> None:
        self._end = valid.utc(ts, "end timestamp") if ts is not None else _now()

    def add_input(self, inp: PointerLike, pointer_type: Any = None, *, version: str | None = None) -> None:
        """Add one input: an :class:`IOPointer`, or a name. A name's type is inferred as 0.17 did
        (``clean.csv`` is DATA); a second argument is its :class:`PointerType`, or else its version."""
        self._add_io([_pointer(inp, pointer_type, version)], True)

    def add_inputs(self, inputs: Iterable[PointerLike]) -> None:
        self._add_io([_pointer(p) for p in _iterable(inputs)], True)

    def add_output(self, out: PointerLike, pointer_type: Any = None, *, version: str | None = None) -> None:
        self._add_io([_pointer(out, pointer_type, version)], False)

    def add_outputs(self, outputs: Iterable[PointerLike]) -> None:
        self._add_io([_pointer(p) for p in _iterable(outputs)], False)

    def _add_io(self, pointers: list[Any], is_input: bool) -> None:
        # Each pointer once. The list is list(set(...)) as in 0.17, built from the first-mention order,
        # so it is the same list a 0.17 caller builds from the same pointers (hash collisions included).
        ordered = self._ordered[is_input]
        seen = set(ordered)
        for p in [*self._lists[is_input], *(_pointer(p) for p in pointers)]:  # plus items appended by hand
            if p not in seen:
                seen.add(p)
                ordered.append(p)
        self._lists[is_input] = list(set(ordered))

    def set_upstream(self, dependencies: str | list[str]) -> None:
        """Depend on the latest run of these components (by name), as well as on what the inputs say:
        when logged, this run reads what their latest runs wrote (see ``log_component_run``)."""
        names = [dependencies] if not isinstance(dependencies, list) else dependencies
        self._dependencies = list(dict.fromkeys([*self._dependencies, *names]))

    def add_test_result(self, result: TestResult) -> None:
        self.test_results.append(result)

    # -- 0.17's dictionaries --------------------------------------------------------------------
    def to_dictionary(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELDS}

    @classmethod
    def from_dictionary(cls, d: dict[str, Any]) -> ComponentRun:
        return cls(**{k: v for k, v in d.items() if k in FIELDS})

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        yield from self.to_dictionary().items()

    # -- logging --------------------------------------------------------------------------------
    def to_record(self) -> RunRecord:
        """Validate everything; raise :class:`InvalidInputError` before anything is written."""
        external = self.external
        return RunRecord(
            key=self.key or (external.key if external else None) or f"uuid:{uuid.uuid4()}",
            component=self._component_name,
            start=self._start,  # type: ignore[arg-type]  # checked by checked()
            end=self._end,  # type: ignore[arg-type]
            status=self.status,
            notes=self._notes,
            code_version=self.code_version,
            error=self.error,
            external=external,
            component_tags=tuple(self.component_tags),
            inputs=tuple((p.name, p.version, p.type) for p in self._ordered[True]),
            outputs=tuple((p.name, p.version, p.type) for p in self._ordered[False]),
            git_hash=self._git_hash,
            git_tags=None if self._git_tags is None else tuple(self._git_tags),
            code_snapshot=self._code_snapshot,
            staleness_threshold=self.staleness_threshold,
            tests=tuple(self.test_results),
        ).checked()


def _pointer(value: Any, pointer_type: Any = None, version: str | None = None) -> IOPointer:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, (str, IOPointer)):
        raise InvalidTypeError(f"a pointer is a name or an IOPointer, not {type(value).__name__}")
    if isinstance(value, IOPointer):
        if version is None and pointer_type is None:
            return value
        return IOPointer(value.name, version=version or value.version, type=pointer_type or value.type)
    if pointer_type is not None and not isinstance(pointer_type, PointerType):
        version, pointer_type = pointer_type, None  # add_input(name, version): this store's form
    if pointer_type is None:
        pointer_type = pointer_type_for(value)
    return IOPointer(value, pointer_type=pointer_type, version=version)


def _iterable(pointers: Any) -> Iterable[Any]:
    # add_inputs("a.csv") is a common slip: treat a lone name as one pointer, not as characters.
    if isinstance(pointers, (str, IOPointer)):
        return [pointers]
    return cast(Iterable[Any], pointers)


def _now() -> datetime:
    return datetime.now(timezone.utc)
