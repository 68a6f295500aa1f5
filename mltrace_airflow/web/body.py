"""Reading the body of a write request: bounded in size before and after decompression, gzip or plain, JSON.

The API server's memory is shared by the UI, the REST API and the task processes' execution API, so a body
is never read (or inflated) past its limit: a declared ``Content-Length`` over it is refused before
reading, a stream is cut when it passes it, and a gzip body is inflated a bounded chunk at a time (a
"zip bomb" stops at the limit). Errors are raised, never answered here (``errors.py`` answers them):
413 over the limit, 415 an encoding other than gzip, 400 a body that is not valid JSON.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from fastapi import HTTPException, Request, status

from mltrace_core import InvalidInputError

MiB = 1 << 20
_CHUNK = 64 * 1024


async def read_json(request: Request, limit: int) -> Any:
    """The decoded JSON body of ``request``, at most ``limit`` bytes once decompressed."""
    return decode(await read(request, limit))


async def read(request: Request, limit: int) -> bytes:
    """The body's bytes (inflated if gzip), at most ``limit`` of them."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "", "gzip", "x-gzip"):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"unsupported Content-Encoding {encoding[:40]!r}: send gzip",
        )
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding in ("gzip", "x-gzip") else None
    out = bytearray()
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        if inflate is None:
            out += chunk
            continue
        try:
            data = chunk
            while data:
                out += inflate.decompress(data, limit + 1 - len(out))
                if len(out) > limit:
                    raise _too_large(limit)
                data = inflate.unconsumed_tail
        except zlib.error as exc:
            raise InvalidInputError(f"the body is not valid gzip ({exc})") from None
    if inflate is not None:
        if not inflate.eof:
            raise InvalidInputError("the gzip body is truncated")
        if inflate.unused_data.strip(b"\0"):  # a second gzip member: read it too (rare, but valid)
            raise InvalidInputError("send one gzip member")
    if len(out) > limit:
        raise _too_large(limit)
    return bytes(out)


def decode(body: bytes) -> Any:
    """JSON (UTF-8), strictly: no NaN or Infinity, which JSON does not have."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidInputError(f"the body is not valid JSON: {_short(exc)}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"the body is over the limit of {limit // MiB} MiB"
    )
