"""What mltrace 0.17 knew about a pointer beyond its name: its type, and the value it held.

0.17 keyed a pointer by its name *and* a hash of a value (``IOPointer(name, value)``; ``register``'s
``input_kwargs``; ``load``/``save``; ``auto_log``). Here a pointer is a name and a run reads or writes a
*version* of it, so a 0.17 value becomes the version (:func:`version_of`), and lineage follows values as
it follows versions (``write.py``): a run that read value V links to the run that wrote V.
"""

from __future__ import annotations

import enum
import hashlib
import pickle
from datetime import date, datetime
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from mltrace_core import validation as valid
from mltrace_core.errors import InvalidInputError


class PointerType(str, enum.Enum):
    """0.17's ``PointerTypeEnum``: what a pointer names. Stored as its text, shown by ``inspect``."""

    DATA = "DATA"
    MODEL = "MODEL"
    ENDPOINT = "ENDPOINT"
    UNKNOWN = "UNKNOWN"


PointerTypeEnum = PointerType  # 0.17's name

_DATA_EXTENSIONS = {"csv", "pq", "parquet", "txt", "md", "rtf", "tsv", "xml", "pdf", "mlt"}
_MODEL_EXTENSIONS = {"h5", "hdf5", "joblib", "pkl", "pickle", "ckpt", "mlmodel"}


def pointer_type_for(name: str) -> PointerType:
    """The type 0.17 inferred from a name: "data" or "model" in it, else its extension."""
    lowered = name.lower()
    if "data" in lowered:
        return PointerType.DATA
    if "model" in lowered:
        return PointerType.MODEL
    extension = lowered.rsplit(".", 1)[-1]
    if extension in _DATA_EXTENSIONS:
        return PointerType.DATA
    if extension in _MODEL_EXTENSIONS:
        return PointerType.MODEL
    return PointerType.UNKNOWN


def type_text(pointer_type: Any) -> str | None:
    """A pointer type as stored: the enum's text, a string as given, ``None`` for none."""
    if pointer_type is None:
        return None
    if isinstance(pointer_type, enum.Enum):
        return str(pointer_type.value)
    if isinstance(pointer_type, str):
        return pointer_type
    raise InvalidInputError(f"a pointer type is a PointerType or a string, not {type(pointer_type).__name__}")


_TEXT_TYPES = (str, int, float, Decimal, PurePath)


def version_of(value: Any) -> str | None:
    """The version that stands for a 0.17 value: ``None`` for no value (``None`` or ``""``, 0.17's
    default); its own text for a short, printable string or number (``"v3"``, ``42``, a path, a date);
    else ``sha256:`` and the first 16 hex digits of a hash of the object (its pickle, or its ``repr`` when
    it cannot be pickled), the same form as a file's content version. Equal objects give equal versions
    within a process; across processes, so do plain data (numbers, strings, lists, dicts, DataFrames)."""
    if value is None or (isinstance(value, str) and value == ""):
        return None
    if isinstance(value, bool) or isinstance(value, _TEXT_TYPES) or isinstance(value, (datetime, date)):
        text = value.isoformat() if isinstance(value, (datetime, date)) else str(value)
        try:
            return valid.version(text)
        except InvalidInputError:
            pass  # too long, or not printable: hash it
    return "sha256:" + hashlib.sha256(_value_bytes(value)).hexdigest()[:16]


def _value_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    try:
        return pickle.dumps(value, protocol=4)
    except Exception:  # not picklable (a lambda, a connection...): its printed form is the best we have
        return repr(value).encode("utf-8", "surrogatepass")
