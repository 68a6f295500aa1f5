"""``IOPointer``: a name of something a run read or wrote, with the version it had (mltrace 0.17's
``IOPointer(name, value, pointer_type, flag)``; a 0.17 value becomes the version, see :mod:`..values`)."""

from __future__ import annotations

import json
from typing import Any

from mltrace_core.values import PointerType, type_text, version_of

_NO_VALUE: Any = ""  # 0.17's default value: no value at all


class IOPointer:
    """A pointer and the version of it a run read or wrote.

    ``IOPointer(name, value, pointer_type, flag)`` as in mltrace 0.17: ``value`` is anything (a version
    string, a list, a DataFrame...) and stands for the version (:func:`values.version_of`).
    ``IOPointer(name, version="etag-1", type="DATA")`` gives the version as it is. Two pointers are equal
    when name and version are (so a run's inputs and outputs deduplicate). Read-only, as in 0.17."""

    __slots__ = ("_name", "_value", "_version", "_type", "_flag")

    def __init__(
        self,
        name: str,
        value: Any = _NO_VALUE,
        pointer_type: PointerType | str | None = None,
        flag: bool = False,
        *,
        version: str | None = None,
        type: PointerType | str | None = None,
    ) -> None:
        self._name = name
        self._version: str | None
        if version is not None:  # the version as given, checked when the run is logged
            self._value, self._version = (version if value is _NO_VALUE else value), version
        else:
            self._value, self._version = value, version_of(value)
        self._type = type_text(pointer_type if pointer_type is not None else type)
        self._flag = flag

    @property
    def name(self) -> str:
        return self._name

    @property
    def value(self) -> Any:
        """The value given (0.17), else the version."""
        return self._value if self._value is not _NO_VALUE else (self._version or "")

    @property
    def version(self) -> str | None:
        return self._version

    @property
    def type(self) -> str | None:
        """The pointer type as stored (``None``: not given)."""
        return self._type

    @property
    def pointer_type(self) -> PointerType | str:
        """0.17's view of :attr:`type`: a :class:`PointerType` (``UNKNOWN`` when none was given)."""
        if self._type is None:
            return PointerType.UNKNOWN
        try:
            return PointerType(self._type)
        except ValueError:
            return self._type  # a type of our own ("table", "asset"...)

    @property
    def flag(self) -> bool:
        return self._flag

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IOPointer) and (self._name, self._version) == (other._name, other._version)

    def __hash__(self) -> int:
        return hash((self._name, self._version))

    def __repr__(self) -> str:
        """0.17's form: the pointer as JSON, without its value."""
        ptype = self.pointer_type
        return json.dumps(
            {"name": self._name, "pointer_type": getattr(ptype, "value", ptype), "flag": self._flag}
        )

    def to_dictionary(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "pointer_type": self.pointer_type, "flag": self.flag}

    @classmethod
    def from_dictionary(cls, d: dict[str, Any]) -> IOPointer:
        return cls(**{k: v for k, v in d.items() if k in ("name", "value", "pointer_type", "flag")})


PointerLike = str | IOPointer
