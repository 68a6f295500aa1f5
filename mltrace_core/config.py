"""Every environment variable the core reads, read here and nowhere else, when used (never at import).

- the store: ``set_db_uri()`` > ``MLTRACE_DB_URI`` > mltrace 0.17's ``DB_URI`` > 0.17's ``DB_SERVER``
  (plain Python and the CLI only) > ``sqlite:///<home>/mltrace.db``, where home is ``$MLTRACE_HOME``
  (default ``~/.mltrace``) for plain Python and the CLI, and ``$AIRFLOW_HOME`` for the Airflow hook (see
  :func:`get_db_uri`);
- 0.17's artifacts (``save``, ``auto_log``): ``$SAVE_DIR``, else ``$MLTRACE_HOME`` (see :func:`save_dir`);
- the spool: ``$MLTRACE_SPOOL_DIR`` > ``$AIRFLOW__MLTRACE__SPOOL_DIR`` > ``$AIRFLOW_HOME/mltrace_spool``
  (when ``AIRFLOW_HOME`` is set) > ``$MLTRACE_HOME/spool`` (see :func:`spool_dir`). Airflow's tasks and
  ``mltrace spool replay`` in the same environment therefore agree on it.

- OpenLineage: the namespace of jobs that name none of their own, ``$OPENLINEAGE_NAMESPACE`` else
  ``default`` (see :func:`openlineage_namespace`); whether runs logged from plain Python are also emitted
  through openlineage-python's client (``$OPENLINEAGE_URL`` or the client's config file, see
  :func:`openlineage_configured`), and ``$MLTRACE_OPENLINEAGE_TIMEOUT``, the bound on one emission.

- logging over HTTP (code without database credentials): ``set_address()`` > ``$MLTRACE_API_URL``, the
  Airflow API server serving mltrace, with ``$MLTRACE_API_KEY`` (the ingestion key or an Airflow token)
  and ``$MLTRACE_API_TIMEOUT`` (seconds a write may take, default 10); see :func:`api_url`.

The one place that also knows how users spell database URIs (:func:`normalize_uri`).
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

_uri_override: str | None = None

DRIVER_POSTGRES = "postgresql+psycopg2"


_address_override: str | None = None
API_PORT = 8080  # the Airflow API server's default port, for an address given as a bare host


def set_api_url(address: str | None) -> None:
    """Log runs over HTTP to the mltrace web API at ``address`` from now on (``None``: back to
    ``$MLTRACE_API_URL``, or to the database)."""
    global _address_override
    _address_override = address.strip() if address and address.strip() else None


def api_url() -> str | None:
    """Where the module API logs runs over HTTP: :func:`set_api_url`'s address, else ``$MLTRACE_API_URL``;
    ``None``: it writes to the store (:func:`get_db_uri`). Normalised to the mltrace app's base URL:
    ``http://HOST:8080/mltrace`` for a bare host (mltrace 0.17's ``set_address("10.0.0.5")``), and
    ``/mltrace`` appended to an Airflow URL that does not end with it."""
    raw = _address_override or os.environ.get("MLTRACE_API_URL", "").strip()
    if not raw:
        return None
    if "://" not in raw:
        host = raw.strip("/")
        raw = f"http://{host}" if ":" in host.split("/")[0] else f"http://{host}:{API_PORT}"
    base = raw.rstrip("/")
    return base if base.endswith("/mltrace") else base + "/mltrace"


def api_key() -> str | None:
    """``$MLTRACE_API_KEY``: the bearer credential of :func:`api_url` (the ingestion key or an Airflow token)."""
    return os.environ.get("MLTRACE_API_KEY", "").strip() or None


def airflow_url(default: str) -> str:
    """The Airflow API server that re-runs are asked of (:mod:`mltrace_core.rerun`):
    ``$MLTRACE_AIRFLOW_URL``, else Airflow's own ``$AIRFLOW__API__BASE_URL``, else ``default``."""
    return (
        os.environ.get("MLTRACE_AIRFLOW_URL", "").strip()
        or os.environ.get("AIRFLOW__API__BASE_URL", "").strip()
        or default
    ).rstrip("/")


def airflow_api_token() -> str | None:
    """``$AIRFLOW_API_TOKEN``: an Airflow API token for the re-runs ``mltrace impact --clear`` asks for."""
    return os.environ.get("AIRFLOW_API_TOKEN", "").strip() or None


def airflow_password() -> str | None:
    """``$MLTRACE_AIRFLOW_PASSWORD``: the password of ``--airflow-user`` (unset: the command asks)."""
    return os.environ.get("MLTRACE_AIRFLOW_PASSWORD") or None


def api_timeout() -> float:
    """Seconds one write over HTTP may take, end to end: ``$MLTRACE_API_TIMEOUT``, else 10 (a value that is
    not a number in (0, 3600] is ignored)."""
    raw = os.environ.get("MLTRACE_API_TIMEOUT", "").strip()
    try:
        value = float(raw)
    except ValueError:
        return 10.0
    return value if 0 < value <= 3600 else 10.0


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


# mltrace 0.17's server database, which DB_SERVER names the host of.
DB_SERVER_URI = "postgresql://admin:admin@{host}:5432/sqlalchemy"


def get_db_uri(home: Path | None = None) -> str:
    """The URI set by :func:`set_db_uri`, else env ``MLTRACE_DB_URI``, else SQLite in ``home``.

    Without ``home`` (plain Python and the CLI), mltrace 0.17's settings come before the SQLite default
    in :func:`mltrace_home`: env ``DB_URI`` (a whole URI), else env ``DB_SERVER``, the host of 0.17's
    server database ``postgresql://admin:admin@<DB_SERVER>:5432/sqlalchemy``. The Airflow hook passes
    ``home`` (:func:`airflow_home`) and leaves those two out: they are generic names that an Airflow
    deployment may well set for something else, and it names its store with a Connection."""
    if _uri_override:
        return _uri_override
    env = os.environ.get("MLTRACE_DB_URI")
    if env:
        return env
    if home is None:
        legacy = os.environ.get("DB_URI", "").strip()
        if legacy:
            return legacy
        server = os.environ.get("DB_SERVER", "").strip()
        if server:
            return DB_SERVER_URI.format(host=server)
    return f"sqlite:///{(home or mltrace_home()) / 'mltrace.db'}"


def save_dir() -> Path:
    """Where 0.17's ``save`` and ``auto_log`` keep artifacts: ``$SAVE_DIR``, else :func:`mltrace_home`."""
    value = os.environ.get("SAVE_DIR", "").strip()
    return Path(value).expanduser() if value else mltrace_home()


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


def output_width() -> int | None:
    """``$COLUMNS``, the width the user asked printed output to have (rich reads it too); ``None`` if
    unset. When unset and the output is not a terminal, the CLI prints 160 columns wide."""
    value = os.environ.get("COLUMNS", "").strip()
    return int(value) if value.isdigit() else None


def normalize_uri(uri: str) -> str:
    """Map the spellings users type to the driver we ship: ``postgres://`` and ``postgresql://``
    become ``postgresql+psycopg2://`` (SQLAlchemy 2 rejects the first and maps the second to psycopg 3).
    ``test`` (mltrace 0.17's throwaway database) is a SQLite file of this process, deleted when it exits.
    The one place that knows this."""
    if uri.strip().lower() == "test":
        return _throwaway_sqlite()
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


@functools.cache
def _throwaway_sqlite() -> str:
    directory = tempfile.mkdtemp(prefix="mltrace-test-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return f"sqlite:///{directory}/mltrace.db"


def openlineage_namespace() -> str:
    """The OpenLineage job namespace of runs that did not record one: ``$OPENLINEAGE_NAMESPACE``, else
    ``default`` (the OpenLineage Airflow provider's default, so Airflow tries and plain runs meet)."""
    return os.environ.get("OPENLINEAGE_NAMESPACE", "").strip() or "default"


def openlineage_configured() -> bool:
    """Whether openlineage-python's client has somewhere to send events: ``$OPENLINEAGE_URL``, a
    ``$OPENLINEAGE__TRANSPORT...`` variable, ``$OPENLINEAGE_CONFIG`` or an ``openlineage.yml`` where the
    client looks for it (the working directory, then ``~/.openlineage``). ``$OPENLINEAGE_DISABLED`` turns
    it off. Cheap: nothing is imported."""
    if os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() in ("true", "1", "yes"):
        return False
    if os.environ.get("OPENLINEAGE_URL", "").strip() or os.environ.get("OPENLINEAGE_CONFIG", "").strip():
        return True
    if any(k.startswith("OPENLINEAGE__TRANSPORT") and v for k, v in os.environ.items()):
        return True
    return any(
        p.is_file() for p in (Path("openlineage.yml"), Path.home() / ".openlineage" / "openlineage.yml")
    )


def openlineage_timeout() -> float:
    """Seconds one plain-Python emission may take, end to end: ``$MLTRACE_OPENLINEAGE_TIMEOUT``, else 5
    (a value that is not a number in (0, 3600] is ignored)."""
    raw = os.environ.get("MLTRACE_OPENLINEAGE_TIMEOUT", "").strip()
    try:
        value = float(raw)
    except ValueError:
        return 5.0
    return value if 0 < value <= 3600 else 5.0
