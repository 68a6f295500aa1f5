"""The validated ``RunRecord`` the store writes (and the spool keeps as JSON). Runs are built with
:class:`mltrace_core.ComponentRun` (``entities/component_run.py``), which makes one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, NamedTuple

from mltrace_core import naming, olids
from mltrace_core import validation as valid
from mltrace_core.errors import IncompleteRunError, InvalidInputError
from mltrace_core.records import ExternalIdentity


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
    # Added with schema 0003 (mltrace 0.17's run details); absent from older spool files.
    git_hash: str | None = None
    git_tags: tuple[str, ...] | None = None
    code_snapshot: str | None = None
    staleness_threshold: int | None = None  # seconds; None: the default
    tests: tuple[TestResult, ...] = ()

    def checked(self) -> RunRecord:
        """This record validated and normalised (pointers deduplicated, times in UTC). Records are
        also built by hand and read back from spool files, so the store checks every one it writes.
        A record this returned is returned as it is (checked once however many layers pass it on)."""
        if self.__dict__.get("_checked"):
            return self
        what = f"run of {self.component!r}"
        for label, ts in (("start", self.start), ("end", self.end)):
            if ts is None:
                raise IncompleteRunError(
                    f"{what} has no {label} timestamp: call set_{label}_timestamp() before logging it"
                )
        start, end = valid.utc(self.start, "start timestamp"), valid.utc(self.end, "end timestamp")
        if end < start:
            raise InvalidInputError(f"{what} ends before it starts")
        key = valid.name(self.key, "run key", 1200)
        # Filled in at once rather than through the frozen dataclass's __init__ (a setattr per field):
        # every logged run passes here, and the record is the same, equal one.
        done = object.__new__(RunRecord)
        done.__dict__.update(
            key=key,
            component=valid.name(self.component, "component name"),
            start=start,
            end=end,
            status=valid.status(self.status),
            notes=valid.text(self.notes, "notes"),
            code_version=valid.version(self.code_version),
            error=valid.text(self.error, "error", truncate=True) if self.error else None,
            external=_with_openlineage_id(valid.external(self.external), key, start),
            component_tags=tuple(valid.name(t, "tag") for t in self.component_tags),
            inputs=_pointer_rows(self.inputs),
            outputs=_pointer_rows(self.outputs),
            format=1,  # the spool format this version writes
            git_hash=valid.name(self.git_hash, "git hash", 256) if self.git_hash is not None else None,
            git_tags=None
            if self.git_tags is None
            else tuple(valid.name(t, "git tag") for t in self.git_tags),
            code_snapshot=(
                valid.text(self.code_snapshot, "code snapshot", truncate=True)
                if self.code_snapshot is not None
                else None
            ),
            staleness_threshold=(
                None
                if self.staleness_threshold is None
                else valid.integer(self.staleness_threshold, "staleness threshold", 0, valid.MAX_RUN_ID)
            ),
            tests=tuple(_test_row(row) for row in self.tests) if self.tests else (),
            _checked=True,  # frozen: nothing can change it after this check
        )
        return done

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
            inputs=tuple((n, v, t) for n, v, t in data.get("inputs", ())),
            outputs=tuple((n, v, t) for n, v, t in data.get("outputs", ())),
            git_hash=data.get("git_hash"),
            git_tags=None if data.get("git_tags") is None else tuple(data["git_tags"]),
            code_snapshot=data.get("code_snapshot"),
            staleness_threshold=data.get("staleness_threshold"),
            tests=tuple(TestResult(*row) for row in data.get("tests", ())),
        )


class TestResult(NamedTuple):
    """One test method run with a run: before or after the function, its name, and how it ended."""

    phase: str  # "before" | "after"
    name: str  # "<test name>.<method>"
    passed: bool
    message: str = ""


# Not a pytest test class, whatever its name (set outside the class: a NamedTuple body holds fields only).
setattr(TestResult, "__test__", False)  # noqa: B010


TEST_PHASES = ("before", "after")


def _test_row(row: object) -> TestResult:
    if not isinstance(row, (tuple, list)) or len(row) != 4:
        raise InvalidInputError("a test result is (phase, name, passed, message)")
    phase, name, passed, message = row
    if phase not in TEST_PHASES:
        raise InvalidInputError(f"a test phase is 'before' or 'after', not {phase!r}")
    if not isinstance(passed, bool):
        raise InvalidInputError("a test result's passed is True or False")
    return TestResult(
        phase, valid.name(name, "test name"), passed, valid.text(message, "test message", truncate=True)
    )


def _with_openlineage_id(
    external: ExternalIdentity | None, key: str, start: datetime
) -> ExternalIdentity | None:
    """Every run gets one OpenLineage run id: its own (an Airflow try's, an ingested run's), else -- for a run
    known only to mltrace -- the one derived from its key and start (:func:`olids.run_id_of_key`), the id
    its exports and emissions carry, so a run exported and ingested again is recognised as itself."""
    if external is None:  # the common case, built directly (dataclasses.replace costs as much as the id)
        return ExternalIdentity(openlineage_run_id=olids.run_id_of_key(key, start))
    if external.openlineage_run_id is not None or external.dag_id is not None:
        return external
    return replace(external, openlineage_run_id=olids.run_id_of_key(key, start))


def _pointer_rows(rows: Iterable[object]) -> tuple[tuple[str, str | None, str | None], ...]:
    checked: dict[str, tuple[str, str | None, str | None]] = {}
    for row in rows:
        if not isinstance(row, (tuple, list)) or len(row) != 3:
            raise InvalidInputError("a pointer row is (name, version, type)")
        given, version, ptype = row
        name = _CANONICAL.get(given) if type(given) is str else None
        if name is None:
            name = _canonical_name(given)
        ptype = valid.name(ptype, "pointer type", 64) if ptype is not None else None
        version = valid.version(version)
        if name in checked:  # two spellings of one pointer, or one named twice: what either says is kept
            _, earlier_version, earlier_type = checked[name]
            version = earlier_version if version is None else version
            ptype = earlier_type if ptype is None else ptype
        checked[name] = (name, version, ptype)  # otherwise the last mention wins
    return tuple(checked.values())


# Pointer names already checked, to their canonical form: a pipeline names the same few pointers run
# after run (what one run writes the next reads), and each is checked and respelled once per process.
# Bounded: emptied when full, so a stream of ever-new names costs what it did without it.
_CANONICAL: dict[str, str] = {}
_CANONICAL_MAX = 4096


def _canonical_name(given: object) -> str:
    checked = valid.name(given, "pointer name")
    name = naming.canonical(checked)
    if name is not checked:  # respelled: the canonical form is checked too
        name = valid.name(name, "pointer name")
    if len(_CANONICAL) >= _CANONICAL_MAX:
        _CANONICAL.clear()
    _CANONICAL[checked] = name
    return name
