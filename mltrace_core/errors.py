"""One error tree. Everything the public API raises derives from :class:`MltraceError`.

Database errors are translated once, at the store boundary (``store.py``), with ``raise ... from exc``.
"""

from __future__ import annotations

__all__ = [
    "MltraceError",
    "NotFoundError",
    "InvalidInputError",
    "InvalidTypeError",
    "IncompleteRunError",
    "StoreUnavailableError",
    "SchemaError",
    "AmbiguousAddressError",
    "InvalidFieldError",
    "InvalidEventError",
]


class MltraceError(Exception):
    """Root of every error raised by mltrace."""


class NotFoundError(MltraceError, LookupError, RuntimeError):
    """An unknown run id, component or pointer. Also a ``RuntimeError``: what mltrace 0.17 raised for
    these, so ported ``except RuntimeError:`` blocks keep working."""


class InvalidInputError(MltraceError, ValueError):
    """A rejected argument (a name that is too long, a missing timestamp...). Nothing was written."""


class InvalidTypeError(InvalidInputError, TypeError):
    """An argument of the wrong type (a timestamp that is not a datetime, notes that are not text...).
    Also a ``TypeError``, as mltrace 0.17 raised."""


class IncompleteRunError(InvalidInputError, RuntimeError):
    """A run that cannot be logged as it is (no start or no end timestamp). Also a ``RuntimeError``, as
    mltrace 0.17 raised."""


class StoreUnavailableError(MltraceError):
    """The store could not be reached or did not answer in time."""


class SchemaError(MltraceError):
    """The database schema is missing or older than this version of mltrace (run `mltrace db upgrade`)."""


class AmbiguousAddressError(InvalidInputError):
    """An address that reads as more than one ``NAME@VERSION``; ``candidates`` are the ``run:ID``
    addresses of the runs it could mean, in the order of the splits."""

    def __init__(self, message: str, candidates: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.candidates = candidates


class InvalidFieldError(InvalidInputError):
    """A document sent to mltrace (an OpenLineage event, a run over HTTP) with a field it cannot take: a
    required field missing, a malformed value, a name over the limits; ``field`` names where, as a JSON
    path (``run.runId``, ``inputs[2].name``, ``start``). Nothing of it is written."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class InvalidEventError(InvalidFieldError):
    """An OpenLineage event mltrace cannot take (see :class:`InvalidFieldError`)."""
