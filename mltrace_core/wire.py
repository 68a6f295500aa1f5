"""A run over HTTP: the run JSON ``mltrace inspect --json`` prints, plus the idempotency key.

``POST /mltrace/api/runs`` takes it (the web app) and :mod:`mltrace_core.remote` sends it (plain Python
logging over HTTP). Read-only fields of the printed JSON (``id``, ``duration``, ``dependencies``,
``stale``, ``downstream``, ``depth``...) are ignored; what a run is made of is read:

``key`` (required: the same key twice is one run), ``component``, ``start``, ``end`` (ISO-8601),
``status``, ``inputs``/``outputs`` (pointer names) with ``input_versions``/``output_versions`` (name ->
version) and ``pointer_types``, ``notes``, ``code_version``, ``error``, ``external``, ``component_tags``,
``git_hash``, ``git_tags``, ``code_snapshot``, ``staleness_threshold``, ``tests`` (``[{"phase", "name",
"passed", "message"}]``).

A field mltrace cannot take raises :class:`InvalidFieldError` naming it (the endpoint's 422).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mltrace_core import validation as valid
from mltrace_core.errors import InvalidFieldError, InvalidInputError
from mltrace_core.records import ExternalIdentity
from mltrace_core.runs import RunRecord, TestResult

_EXTERNAL = tuple(ExternalIdentity.__dataclass_fields__)


def to_wire(rec: RunRecord) -> dict[str, Any]:
    """``rec`` as the run JSON (what :func:`from_wire` reads back exactly)."""
    types = {name: ptype for name, _, ptype in rec.inputs + rec.outputs if ptype is not None}
    return {
        "key": rec.key,
        "component": rec.component,
        "start": rec.start.isoformat(),
        "end": rec.end.isoformat(),
        "status": rec.status,
        "inputs": [name for name, _, _ in rec.inputs],
        "outputs": [name for name, _, _ in rec.outputs],
        "input_versions": {name: version for name, version, _ in rec.inputs},
        "output_versions": {name: version for name, version, _ in rec.outputs},
        "pointer_types": types,
        "notes": rec.notes,
        "code_version": rec.code_version,
        "error": rec.error,
        "external": rec.external.to_dict() if rec.external else None,
        "component_tags": list(rec.component_tags),
        "git_hash": rec.git_hash,
        "git_tags": None if rec.git_tags is None else list(rec.git_tags),
        "code_snapshot": rec.code_snapshot,
        "staleness_threshold": rec.staleness_threshold,
        "tests": [t._asdict() for t in rec.tests],
    }


def from_wire(data: Any) -> RunRecord:
    """The validated record the run JSON ``data`` describes."""
    if not isinstance(data, dict):
        raise InvalidFieldError("$", "a run is a JSON object")
    versions = (_mapping(data, "input_versions"), _mapping(data, "output_versions"))
    types = _mapping(data, "pointer_types")
    fields: dict[str, Any] = {
        "key": _required(data, "key"),
        "component": _required(data, "component"),
        "start": _time(data, "start"),
        "end": _time(data, "end"),
        "inputs": _pointers(data, "inputs", versions[0], types),
        "outputs": _pointers(data, "outputs", versions[1], types),
        "external": _external(data.get("external")),
        "component_tags": tuple(_list(data, "component_tags")),
        "tests": tuple(_test(t, f"tests[{i}]") for i, t in enumerate(_list(data, "tests"))),
    }
    for name in (
        "status",
        "notes",
        "code_version",
        "error",
        "git_hash",
        "code_snapshot",
        "staleness_threshold",
    ):
        if data.get(name) is not None:
            fields[name] = data[name]
    if data.get("git_tags") is not None:
        fields["git_tags"] = tuple(_list(data, "git_tags"))
    try:
        return RunRecord(**fields).checked()
    except InvalidFieldError:
        raise
    except InvalidInputError as exc:
        raise InvalidFieldError(_field_of(str(exc)), str(exc)) from None


def _required(data: dict[str, Any], name: str) -> Any:
    if data.get(name) is None:
        raise InvalidFieldError(name, "missing")
    return data[name]


def _time(data: dict[str, Any], name: str) -> datetime:
    value = _required(data, name)
    if not isinstance(value, str):
        raise InvalidFieldError(name, "must be an ISO-8601 time")
    try:
        return valid.iso_time(value, name)
    except InvalidInputError as exc:
        raise InvalidFieldError(name, str(exc)) from None


def _list(data: dict[str, Any], name: str) -> list[Any]:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidFieldError(name, "must be an array")
    return value


def _mapping(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidFieldError(name, "must be an object")
    return value


def _pointers(
    data: dict[str, Any], name: str, versions: dict[str, Any], types: dict[str, Any]
) -> tuple[tuple[str, Any, Any], ...]:
    rows = []
    for i, pointer in enumerate(_list(data, name)):
        if not isinstance(pointer, str):
            raise InvalidFieldError(f"{name}[{i}]", "a pointer is a name (a string)")
        rows.append((pointer, versions.get(pointer), types.get(pointer)))
    return tuple(rows)


def _external(value: Any) -> ExternalIdentity | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidFieldError("external", "must be an object")
    unknown = sorted(set(value) - set(_EXTERNAL))
    if unknown:
        raise InvalidFieldError(f"external.{unknown[0]}", "unknown field")
    return ExternalIdentity(**value)


def _test(value: Any, where: str) -> TestResult:
    if not isinstance(value, dict):
        raise InvalidFieldError(where, "a test result is an object")
    # Checked with the rest of the record (RunRecord.checked): the fields go in as the client sent them.
    return TestResult._make(
        (value.get("phase"), value.get("name"), value.get("passed"), value.get("message") or "")
    )


def _field_of(message: str) -> str:
    """The field a validation message is about (it starts with what was checked), else the whole run."""
    for field, words in _MESSAGES:
        if message.startswith(words):
            return field
    return "$"


_MESSAGES = (
    ("key", "run key"),
    ("component", "component name"),
    ("status", "status"),
    ("external", "external"),
    ("component_tags", "tag"),
    ("tests", "a test"),
)
