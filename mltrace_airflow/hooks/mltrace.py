"""MltraceHook: an Airflow Connection -> a core ``Store``. The only place that knows how Airflow names a
database. No SQL here, and no cache: stores come from the core's registry (:mod:`mltrace_core.stores`)."""

from __future__ import annotations

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException
from sqlalchemy.engine import URL

from mltrace_airflow import config
from mltrace_core import Store, stores
from mltrace_core import config as core_config
from mltrace_core.config import normalize_uri

# Connection extras passed on to libpq (TLS, failover, keepalives). Timeouts and ``options`` are not:
# the store sets them itself, to keep its time bound.
_LIBPQ_EXTRAS = (
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslcrl",
    "gssencmode",
    "target_session_attrs",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
)


def fallback_uri() -> str:
    """No connection defined: env ``MLTRACE_DB_URI``, else ``sqlite:///$AIRFLOW_HOME/mltrace.db``."""
    return core_config.get_db_uri(home=core_config.airflow_home())


def connection_uri(conn) -> str:
    """The SQLAlchemy URL for an Airflow Connection (postgres/postgresql, sqlite, or mltrace).

    An extra ``{"sqlalchemy_url": "..."}`` overrides everything else. For PostgreSQL the TLS, failover
    and keepalive extras (``sslmode``, ``sslrootcert``, ... see ``_LIBPQ_EXTRAS``) are kept."""
    extras = conn.extra_dejson
    override = extras.get("sqlalchemy_url")
    if override:
        return normalize_uri(override)
    conn_type = (conn.conn_type or "").lower()
    if conn_type == "sqlite" or (conn_type == "mltrace" and not conn.host):
        path = conn.host or conn.schema
        if not path:
            raise ValueError(f"connection {conn.conn_id!r}: a sqlite store needs a file path in host")
        return f"sqlite:///{path}"
    if conn_type in ("postgres", "postgresql", "mltrace"):
        url = URL.create(
            "postgresql+psycopg2",
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or None,
            port=conn.port or None,
            database=conn.schema or None,
            query={k: str(v) for k, v in extras.items() if k in _LIBPQ_EXTRAS},
        )
        return url.render_as_string(hide_password=False)
    raise ValueError(
        f"connection {conn.conn_id!r} has type {conn.conn_type!r}; mltrace needs postgres, sqlite or mltrace"
    )


class MltraceHook(BaseHook):
    """Reach the mltrace lineage store named by an Airflow Connection (default ``mltrace_default``)."""

    conn_name_attr = "mltrace_conn_id"
    default_conn_name = config.DEFAULT_CONN_ID
    conn_type = "mltrace"
    hook_name = "mltrace lineage store"

    def __init__(self, mltrace_conn_id: str | None = None, timeout: float = stores.DEFAULT_TIMEOUT) -> None:
        """``mltrace_conn_id``: default ``[mltrace] conn_id`` (``mltrace_default``). ``timeout``: the bound
        of every call to the store, in seconds."""
        super().__init__()
        self.mltrace_conn_id = mltrace_conn_id or config.conn_id()
        self.timeout = timeout

    def get_uri(self) -> str:
        try:
            conn = self.get_connection(self.mltrace_conn_id)
        except AirflowNotFoundException:
            return fallback_uri()
        return connection_uri(conn)

    def get_store(self, max_in_flight: int | None = None) -> Store:
        """The store of this connection, bounded by the hook's ``timeout`` (and ``max_in_flight`` calls
        at once, if given), from the process's registry."""
        return stores.get(self.get_uri(), timeout=self.timeout, max_in_flight=max_in_flight)

    def get_conn(self) -> Store:
        return self.get_store()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict:
        return {
            "hidden_fields": [],
            "relabeling": {"schema": "Database", "host": "Host (or SQLite file path)"},
            "placeholders": {"extra": '{"sqlalchemy_url": "postgresql+psycopg2://user:pass@host/db"}'},
        }
