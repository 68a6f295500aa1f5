"""OpenLineage events from files, for ``mltrace ingest``: what openlineage-python's file transport writes,
and what ``mltrace export --openlineage`` writes.

- a JSON Lines file (the file transport with ``append: true``; an export): one event a line, read
  as a stream (constant memory whatever the file's size);
- a directory (the file transport's default: one file per event, ``<prefix>-<time>.json``): every file
  in it and its subdirectories, in name order, hidden files left out;
- a file holding one JSON document: an event (even pretty-printed over many lines) or an array of them;
- any of these gzip-compressed (``.gz``).

:func:`read` yields ``(where, data)`` pairs -- ``where`` is ``path:line`` (``path:line[index]`` inside an
array) -- with ``data`` the decoded JSON, or a :class:`Malformed` saying why the line or file is not JSON.
The caller checks events (:func:`mltrace_core.openlineage.parse`) and reports what fails with its place.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Malformed:
    reason: str


def files(paths: list[str]) -> list[Path]:
    """The files ``paths`` name (directories walked, in name order)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found += [Path(root) / n for n in sorted(names) if not n.startswith(".")]
        else:
            found.append(path)
    return found


def read(path: Path, progress: Callable[[int], object] | None = None) -> Iterator[tuple[str, Any]]:
    """The JSON values in ``path`` with their places. ``progress(position)``, if given, is called now and
    then with how far into the file (in bytes of the file as stored) reading has got."""
    with open(path, "rb") as raw:
        binary: gzip.GzipFile | io.BufferedReader = (
            gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else raw
        )
        fh = io.TextIOWrapper(binary, encoding="utf-8", errors="replace")

        def at() -> None:
            if progress:
                progress(raw.tell())

        first = fh.readline()
        head = _decode(first)
        if isinstance(head, Malformed) and first.strip():
            # Not one line of JSON: one document over many lines (a pretty-printed event), or a JSON Lines
            # file whose first line is broken.
            text = first + fh.read()
            at()
            whole = _decode(text)
            if not isinstance(whole, Malformed):
                yield from _values(f"{path}:1", whole)
                return
            yield from _lines(path, text.splitlines(keepends=True), 1, None)
            return
        if not isinstance(head, Malformed):
            yield from _values(f"{path}:1", head)
        yield from _lines(path, fh, 2, at)
        at()


def _lines(
    path: Path, lines: Iterable[str], start: int, at: Callable[[], None] | None
) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(lines, start):
        if at is not None and number % 512 == 0:
            at()
        if not line.strip():
            continue
        value = _decode(line)
        if isinstance(value, Malformed):
            yield f"{path}:{number}", value
        else:
            yield from _values(f"{path}:{number}", value)


def _values(where: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, list):  # a batch in one document
        for i, item in enumerate(value):
            yield f"{where}[{i}]", item
    else:
        yield where, value


def _decode(text: str) -> Any:
    if _orjson is not None and not _LONG_NUMBER.search(text):
        try:
            return _orjson.loads(text)  # ~4x faster than json; the same value, else it refuses
        except _orjson.JSONDecodeError:
            pass  # json.loads decides (and says why): NaN, lone surrogates, numbers beyond a double
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        reason = str(exc) or type(exc).__name__
        return Malformed(f"not JSON: {reason[:200]}")


try:  # installed with the airflow extra; the core stands alone without it
    import orjson as _orjson
except ImportError:  # pragma: no cover - the test environment has it
    _orjson = None  # type: ignore[assignment]

# orjson reads an integer beyond 64 bits as a float where json keeps it exact (a datasetVersion of 20 digits
# would name another version): such texts are left to json.
_LONG_NUMBER = re.compile(r"\d{19}")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
