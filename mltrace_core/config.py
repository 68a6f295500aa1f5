"""Every environment variable the core reads, read here and nowhere else, when used (never at import).

- the store: ``set_db_uri()`` > ``MLTRACE_DB_URI`` > ``sqlite:///<home>/mltrace.db``, where home is
  ``$MLTRACE_HOME`` (default ``~/.mltrace``) for plain Python and the CLI, and ``$AIRFLOW_HOME`` for the
  Airflow hook (see :func:`get_db_uri`);
- the spool: ``$MLTRACE_SPOOL_DIR`` > ``$AIRFLOW__MLTRACE__SPOOL_DIR`` > ``$AIRFLOW_HOME/mltrace_spool``
  (when ``AIRFLOW_HOME`` is set) > ``$MLTRACE_HOME/spool`` (see :func:`spool_dir`). Airflow's tasks and
  ``mltrace spool replay`` in the same environment therefore agree on it.

The one place that also knows how users spell database URIs (:func:`normalize_uri`).
"""

from __future__ import annotations

import hashlib
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


def airflow_home() -> Path:
    """``$AIRFLOW_HOME``, else ``~/airflow`` (Airflow's own default)."""
    return Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")


def get_db_uri(home: Path | None = None) -> str:
    """The URI set by :func:`set_db_uri`, else env ``MLTRACE_DB_URI``, else SQLite in ``home`` (default
    :func:`mltrace_home`; the Airflow hook passes :func:`airflow_home`)."""
    if _uri_override:
        return _uri_override
    env = os.environ.get("MLTRACE_DB_URI")
    if env:
        return env
    return f"sqlite:///{(home or mltrace_home()) / 'mltrace.db'}"


def spool_dir() -> Path:
    """Where runs wait while their store is unreachable: ``$MLTRACE_SPOOL_DIR``, else
    ``$AIRFLOW__MLTRACE__SPOOL_DIR`` (Airflow's ``[mltrace] spool_dir`` set in the environment), else
    ``$AIRFLOW_HOME/mltrace_spool`` when ``AIRFLOW_HOME`` is set, else ``$MLTRACE_HOME/spool``."""
    for name in ("MLTRACE_SPOOL_DIR", "AIRFLOW__MLTRACE__SPOOL_DIR"):
        value = os.environ.get(name, "").strip()
        if value:
            return Path(value).expanduser()
    if os.environ.get("AIRFLOW_HOME"):
        return airflow_home() / "mltrace_spool"
    return mltrace_home() / "spool"


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


def store_fingerprint(uri: str) -> str:
    """A short, stable name of the store a URI points at, whatever its spelling or password (the driver,
    user, host, port, database and path; not the password or connection options): spooled runs carry it,
    so a replay sends each run only to the store it was meant for."""
    from sqlalchemy.engine import make_url

    try:
        url = make_url(normalize_uri(uri))
        backend = url.get_backend_name()
        database = url.database or ""
        if backend == "sqlite" and database not in ("", ":memory:") and not database.startswith("file:"):
            database = str(Path(database).expanduser().resolve())
        ident = f"{backend}://{url.username or ''}@{url.host or ''}:{url.port or ''}/{database}"
    except Exception:  # unparsable: still a stable name, never the text itself
        ident = "unparsable:" + uri
    return hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:16]
