"""Where the store lives. Read when used, never at import time.

Precedence for the database URI (see :func:`get_db_uri`):
``set_db_uri()`` > env ``MLTRACE_DB_URI`` > ``sqlite:///$MLTRACE_HOME/mltrace.db``.
"""

from __future__ import annotations

import os
from pathlib import Path

_uri_override: str | None = None

DRIVER_POSTGRES = "postgresql+psycopg2"


def set_db_uri(uri: str | None) -> None:
    """Use ``uri`` for the module-level API from now on (``None`` goes back to env/default)."""
    global _uri_override
    _uri_override = uri


def mltrace_home() -> Path:
    """``$MLTRACE_HOME``, else ``~/.mltrace``."""
    return Path(os.environ.get("MLTRACE_HOME") or Path.home() / ".mltrace")


def get_db_uri() -> str:
    """The URI set by :func:`set_db_uri`, else env ``MLTRACE_DB_URI``, else SQLite in :func:`mltrace_home`."""
    if _uri_override:
        return _uri_override
    env = os.environ.get("MLTRACE_DB_URI")
    if env:
        return env
    return f"sqlite:///{mltrace_home() / 'mltrace.db'}"


def normalize_uri(uri: str) -> str:
    """Map the spellings users type to the driver we ship: ``postgres://`` and ``postgresql://``
    become ``postgresql+psycopg2://`` (SQLAlchemy 2 rejects the first and maps the second to psycopg 3).
    The one place that knows this."""
    for prefix in ("postgres://", "postgresql://"):
        if uri.startswith(prefix):
            return DRIVER_POSTGRES + "://" + uri[len(prefix) :]
    return uri


def redact_uri(uri: str) -> str:
    """The URI with any password replaced, for messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(normalize_uri(uri)).render_as_string(hide_password=True)
    except Exception:  # an unparsable URI: say nothing of its contents
        return "<unparsable database URI>"
