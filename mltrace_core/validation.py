"""The limits on what mltrace stores, enforced here and nowhere else.

- names (components, pointers, tags, owners): 1 to 1,024 bytes of UTF-8, no control characters
  (NUL, newlines, tabs...), not only whitespace. 1,024 bytes is S3's key limit and stays well inside
  the PostgreSQL index entry limit.
- free text (notes, descriptions, error messages): up to 65,536 characters, no NUL; longer error
  messages are cut, not rejected, because they come from the user's failing code.
- versions: up to 256 bytes, same character rules as names.
- run ids: positive integers below 2**63.
- trace depths: 0 to :data:`MAX_DEPTH`; counts (limits): 1 to 10,000.

Numbers typed by users (the CLI, query parameters, the command box) are parsed here too: a decimal
string or an int, nothing else (no ``1e3``, no ``+5``, no surrounding words). So are the times they type
for ``--as-of`` (:func:`point_in_time`), the same way for the CLI, the JSON API and the pages.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, NoReturn

from mltrace_core.errors import InvalidInputError, InvalidTypeError
from mltrace_core.formats import STATUSES

if TYPE_CHECKING:
    from mltrace_core.records import ExternalIdentity

MAX_NAME_BYTES = 1024
MAX_VERSION_BYTES = 256
MAX_TEXT_CHARS = 65536
MAX_RUN_ID = 2**63 - 1
MAX_DEPTH = 1_000_000  # levels of a trace; deeper than any lineage a store holds
MAX_LIMIT = 10_000  # runs one listing returns
MAX_INT32 = 2**31 - 1


def name(value: object, what: str = "name", max_bytes: int = MAX_NAME_BYTES) -> str:
    """Return ``value`` if it is an acceptable name, else raise :class:`InvalidInputError`."""
    # The common name -- printable ASCII, within the limit, not blank -- in a few C calls: every pointer,
    # component and key of every logged run passes here. For ASCII, characters are bytes and
    # "printable" is exactly "no control character"; anything else takes the full check below.
    if type(value) is str and value.isascii() and value.isprintable() and len(value) <= max_bytes:
        if value.strip():
            return value
    if not isinstance(value, str):
        raise InvalidTypeError(f"{what} must be a string, not {type(value).__name__}")
    if not value.strip():
        raise InvalidInputError(f"{what} must not be empty")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInputError(f"{what} is not valid unicode (lone surrogate)") from None
    if size > max_bytes:
        raise InvalidInputError(f"{what} is {size} bytes long; the limit is {max_bytes} bytes of UTF-8")
    control = _CONTROL.search(value)
    if control:
        raise InvalidInputError(f"{what} must not contain control characters ({control.group()!r})")
    return value


# Unicode's category Cc, exactly (a stable set: C0, DEL, C1); a regex scans a name ~10x faster than a loop
# over unicodedata.category, and every name of every ingested event passes here.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def version(value: object) -> str | None:
    if value is None:
        return None
    return name(
        str(value) if isinstance(value, (int, float)) else value, "pointer version", MAX_VERSION_BYTES
    )


def text(value: object, what: str, truncate: bool = False) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidTypeError(f"{what} must be a string, not {type(value).__name__}")
    if "\x00" in value:
        if not truncate:
            raise InvalidInputError(f"{what} must not contain NUL characters")
        value = value.replace("\x00", "\\0")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        if not truncate:
            raise InvalidInputError(f"{what} is not valid unicode (lone surrogate)") from None
        value = value.encode("utf-8", "replace").decode("utf-8")
    if len(value) > MAX_TEXT_CHARS:
        if not truncate:
            raise InvalidInputError(f"{what} is {len(value)} characters long; the limit is {MAX_TEXT_CHARS}")
        value = value[: MAX_TEXT_CHARS - 1] + "…"
    return value


def whole_number(text: str) -> int | None:
    """The integer a user typed (ASCII digits, optionally a leading ``-``), else ``None``. Digits only:
    Python's ``int()`` would also take ``" 1_000 "`` and ``"١٢"``."""
    digits = text.strip()
    body = digits[1:] if digits.startswith("-") else digits
    if not body or len(body) > 100 or not body.isascii() or not body.isdigit():
        return None
    return int(digits)


def integer(value: object, what: str, low: int, high: int) -> int:
    """An int (or a decimal string of one) between ``low`` and ``high``, else :class:`InvalidInputError`."""
    if isinstance(value, str):
        parsed = whole_number(value)
        if parsed is None:
            raise InvalidInputError(f"{what} must be an integer, not {value[:40]!r}")
        value = parsed
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{what} must be an integer, not {type(value).__name__}")
    if value < low or value > high:
        raise InvalidInputError(f"{what} must be between {low} and {high}, not {value}")
    return value


def run_id(value: object) -> int:
    """A run id from an int or a decimal string (``#12`` is 12, as the pages print ids)."""
    if isinstance(value, str):
        stripped = value.strip().lstrip("#")
        if whole_number(stripped) is None or stripped.startswith("-"):
            raise InvalidInputError(f"run id must be a positive integer, not {value[:40]!r}")
        value = stripped
    return integer(value, "run id", 1, MAX_RUN_ID)


def limit(value: object, what: str = "limit", maximum: int = MAX_LIMIT) -> int:
    """A number of runs to list: 1 to ``maximum``."""
    return integer(value, what, 1, maximum)


def depth(value: object) -> int:
    """A maximum trace depth: 0 (just the producing run) to :data:`MAX_DEPTH`."""
    return integer(value, "depth", 0, MAX_DEPTH)


def map_index(value: object) -> int:
    """An Airflow map index: -1 (not mapped) or more."""
    return integer(value, "map_index", -1, MAX_INT32)


def try_number(value: object) -> int:
    """An Airflow try number: 1 or more."""
    return integer(value, "try_number", 1, MAX_INT32)


def status(value: object) -> str:
    if value not in STATUSES:
        raise InvalidInputError(f"status must be one of {', '.join(STATUSES)}, not {value!r}")
    return str(value)


def utc(value: object, what: str) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC."""
    if not isinstance(value, datetime):
        raise InvalidTypeError(f"{what} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def time_bound(value: object, what: str) -> datetime | None:
    """A date range bound: a datetime or ISO-8601 text (naive meaning UTC), as an aware UTC datetime;
    ``None``, ``""``, ``datetime.min`` and ``datetime.max`` are no bound (mltrace 0.17's defaults)."""
    if value is None or value == "" or value in (datetime.min, datetime.max):
        return None
    if isinstance(value, str):
        given = value
        try:
            value = datetime.fromisoformat(given.strip())
        except ValueError:
            raise InvalidInputError(f"{what} must be a date or time (ISO 8601), not {given[:40]!r}") from None
    return utc(value, what)


def external(value: ExternalIdentity | None) -> ExternalIdentity | None:
    """An ExternalIdentity with sane fields (Airflow ids are at most 250 characters)."""
    if value is None:
        return None
    for attr in ("dag_id", "run_id", "task_id"):
        field_value = getattr(value, attr)
        if field_value is not None:
            name(field_value, f"external {attr}", 250)
    for attr in ("try_number", "map_index"):
        field_value = getattr(value, attr)
        if field_value is not None and (isinstance(field_value, bool) or not isinstance(field_value, int)):
            raise InvalidInputError(f"external {attr} must be an integer")
        if field_value is not None and abs(field_value) > MAX_INT32:
            raise InvalidInputError(f"external {attr} is out of range")
    if value.url is not None:
        name(value.url, "external url", 4096)
    if value.openlineage_namespace is not None:
        name(value.openlineage_namespace, "external openlineage_namespace", 1024)
    run_id, parent = value.openlineage_run_id, value.openlineage_parent_run_id
    if run_id is None and parent is None:
        return value
    return replace(
        value,
        openlineage_run_id=None
        if run_id is None
        else openlineage_run_id(run_id, "external openlineage_run_id"),
        openlineage_parent_run_id=(
            None if parent is None else openlineage_run_id(parent, "external openlineage_parent_run_id")
        ),
    )


def openlineage_run_id(value: object, what: str = "OpenLineage run id") -> str:
    """An OpenLineage run id: a UUID (the spec's ``format: uuid``), kept in its canonical lower-case form."""
    try:
        return str(uuid.UUID(value)) if isinstance(value, str) else _not_uuid(what, value)
    except ValueError:
        return _not_uuid(what, value)


def _not_uuid(what: str, value: object) -> NoReturn:
    raise InvalidInputError(f"{what} must be a UUID, not {str(value)[:80]!r}")


# ISO-8601 in its extended form, parsed here rather than by datetime.fromisoformat: Python 3.10's does
# not take a ``Z``, nor fractions of other than 3 or 6 digits, and 3.11's takes other forms 3.10 does not.
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?"
)
_AGO = re.compile(r"(\d{1,12})([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
TIME_HELP = (
    "an ISO-8601 time (2026-03-01T14:00:00Z; no zone means UTC) or a span before now (90s, 15m, 6h, 2d, 1w)"
)


def point_in_time(value: object, what: str = "as_of", now: datetime | None = None) -> datetime:
    """An aware UTC datetime from what a user typed: ISO-8601 (``Z`` or an offset; no zone means UTC;
    a date alone means its midnight) or ``N`` followed by ``s``, ``m``, ``h``, ``d`` or ``w``, that long
    before ``now``. A datetime is taken as it is (naive means UTC)."""
    if isinstance(value, datetime):
        return utc(value, what)
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a time, not {type(value).__name__}")
    typed = value.strip()
    ago = _AGO.fullmatch(typed)
    if ago:
        current = utc(now, "now") if now is not None else datetime.now(timezone.utc)
        try:
            return current - timedelta(seconds=int(ago.group(1)) * _UNIT_SECONDS[ago.group(2)])
        except OverflowError:
            raise InvalidInputError(f"{what} {typed!r} is further back than any time") from None
    if not _ISO.fullmatch(typed):
        raise InvalidInputError(f"{what} must be {TIME_HELP}, not {typed[:60]!r}")
    return iso_time(typed, what)


def iso_time(value: str, what: str = "time") -> datetime:
    """An aware UTC datetime from an ISO-8601 text (``Z`` or an offset; no zone means UTC; a date alone
    means its midnight; fractions of up to 9 digits, cut to microseconds): times in files and bodies."""
    typed = value.strip()
    iso = _ISO.fullmatch(typed)
    if not iso:
        raise InvalidInputError(f"{what} must be an ISO-8601 time (2026-03-01T14:00:00Z), not {typed[:60]!r}")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = iso.groups()
    try:
        zone = timezone.utc
        if sign:
            offset = timedelta(hours=int(off_h), minutes=int(off_m or 0))
            zone = timezone(-offset if sign == "-" else offset)
        parsed = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=zone,
        )
    except ValueError as exc:
        raise InvalidInputError(f"{what} {typed[:60]!r} is not a valid time: {exc}") from None
    return parsed.astimezone(timezone.utc)
