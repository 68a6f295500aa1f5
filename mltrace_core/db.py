"""Engines, transactions and schema set-up: the one place that knows the backends apart.

SQLite is a real backend here: WAL (readers never block the writer), foreign keys on, a busy timeout,
and writers take the write lock at BEGIN (``BEGIN IMMEDIATE``), so two concurrent writers queue up
instead of failing half-way with "database is locked" on lock upgrade.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from hashlib import sha1
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, ProgrammingError, StatementError
from sqlalchemy.orm import Session

from mltrace_core.config import normalize_uri
from mltrace_core.errors import InvalidInputError, SchemaError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.pool import ConnectionPoolEntry

VERSION_TABLE = "mltrace_alembic_version"  # not "alembic_version": the store may share a database
SCHEMA_REVISION = "0015"  # head of migrations/versions; tests/core/test_migrations.py checks it
_SETUP_LOCK_KEY = 0x6D6C7472  # "mltr", a PostgreSQL advisory lock for first-use set-up


class PreparedStatement:
    """A PostgreSQL statement prepared once per driver connection and kept with its generic plan (the hot
    reads whose parameters tell the planner nothing a custom plan could use: the trace by name, the
    flagged-input check), run with ``settings`` (planner settings, ``SET LOCAL``) in the same round trip
    on every call, since PostgreSQL replans a prepared statement when its tables' statistics change.

    Its name carries a digest of its text, so a connection that holds another version's statement (a
    pooled server connection during an upgrade, two versions in one process) never answers with that
    one's rows. A connection that lost it (a pooler, ``DISCARD ALL``) or had it already unknown to this
    process is answered by preparing again, or not -- retried only outside a transaction (autocommit),
    where the failed statement aborted nothing."""

    NOT_PREPARED, ALREADY_PREPARED = "26000", "42P05"  # SQLSTATEs: invalid statement name, duplicate one

    def __init__(self, name: str, types: str, sql: str, arguments: str, settings: str) -> None:
        self.name = f"{name}_{sha1(sql.encode()).hexdigest()[:12]}"
        self._prepare = f"PREPARE {self.name}({types}) AS {sql}; "
        self._execute = (
            f"{settings}; SET LOCAL plan_cache_mode = force_generic_plan; EXECUTE {self.name}({arguments})"
        )
        self._on: weakref.WeakSet[Any] = weakref.WeakSet()  # the driver connections that have it

    def execute(self, cursor: Any, params: Any) -> None:
        conn = cursor.connection
        try:
            cursor.execute(self._text(conn not in self._on), params)
        except Exception as exc:
            code = getattr(exc, "pgcode", None)
            if not conn.autocommit or code not in (self.NOT_PREPARED, self.ALREADY_PREPARED):
                raise
            cursor.execute(self._text(code == self.NOT_PREPARED), params)
        self._on.add(conn)

    def forget(self, conn: Any) -> None:
        """As if ``conn`` had never prepared it here (what a new process sees; the tests use it)."""
        self._on.discard(conn)

    def _text(self, prepare: bool) -> str:
        return (self._prepare if prepare else "") + self._execute


def make_engine(uri: str, timeout: float = 30.0) -> Engine:
    """An engine for ``uri`` whose connects, lock waits and statements give up after ``timeout`` s."""
    try:
        url = make_url(normalize_uri(uri))
    except (ValueError, ArgumentError) as exc:  # the message must not repeat the URI: it may hold a password
        raise InvalidInputError(f"invalid database URI ({type(exc).__name__}: {_safe_reason(exc)})") from None
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, timeout)
    if url.get_backend_name() == "postgresql":
        ms = int(timeout * 1000)
        return create_engine(
            url,
            # No pool_pre_ping (a round trip per call): a connection a restarted server dropped fails its
            # call, which invalidates the pool, and the store retries the call once (Store._retrying).
            connect_args={
                # A second beyond the call's own bound (libpq counts whole seconds): a server that
                # accepts and never answers is reported by the bound ("did not answer within T s"),
                # never by whichever of two equal timers happened to fire first.
                "connect_timeout": int(timeout) + 1,
                # jit=off: lineage queries are many small index walks; compiling them costs 100+ ms.
                "options": f"-c statement_timeout={ms} -c lock_timeout={ms} -c jit=off "
                "-c idle_in_transaction_session_timeout=600000",
                "application_name": "mltrace",
            },
        )
    return create_engine(url, pool_pre_ping=True)


def raw_connection(engine: Engine, what: str) -> Any:
    """``engine.raw_connection()`` (a pooled driver connection, for the fast paths), a failure to connect
    raised as SQLAlchemy raises it from a ``Connection`` (``DBAPIError``): ``raw_connection()`` itself lets
    the driver's own error through, which no layer above translates (a store that went down answered a
    page with a 500, not a 503)."""
    try:
        return engine.raw_connection()
    except (sqlite3.Error, engine.dialect.loaded_dbapi.Error) as exc:
        raise DBAPIError.instance(
            what,
            None,
            exc,
            engine.dialect.loaded_dbapi.Error,
            connection_invalidated=engine.dialect.is_disconnect(exc, None, None),  # type: ignore[arg-type]
            dialect=engine.dialect,
        ) from exc


class HeldConnections:
    """A driver connection of one engine per thread, kept by that thread between calls: the per-run log's.

    Why: a pool checkout and checkin (a queue under a lock, a proxy, a weak reference, a reset) cost more
    than a SQLite log's statements differ from the least possible, and a PostgreSQL log is one round
    trip; the log runs on the caller's thread (SQLite) or on one of the store's long-lived workers
    (PostgreSQL, :mod:`.bound`), so a connection per thread is reused call after call. Each is made by the
    engine's pool (the same connect arguments, pragmas and events) and then detached from it, so the pool
    never counts it. A connection is closed when its thread ends (it is released with the thread's
    data), when it fails (:meth:`discard`), or by :meth:`close` (``Store.dispose``). A child process
    after a fork opens its own and never touches (nor closes) its parent's, as SQLAlchemy advises for
    pools."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._slots: weakref.WeakSet[_Slot] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def take(self, engine: Engine, what: str) -> Any:
        """This thread's driver connection, opened on first use (a failure raised as ``DBAPIError``)."""
        slot = getattr(self._local, "slot", None)
        if slot is not None and slot.open and slot.pid == os.getpid():
            return slot.conn
        fairy = raw_connection(engine, what)
        conn = fairy.driver_connection
        fairy.detach()
        slot = _Slot(conn)
        with self._lock:
            if self._pid != slot.pid:  # a forked child: its parent's connections are not its own
                self._slots = weakref.WeakSet()
                self._pid = slot.pid
            self._slots.add(slot)
        self._local.slot = slot
        return conn

    def discard(self) -> None:
        """Close this thread's connection (it failed): the thread's next call opens another."""
        slot = getattr(self._local, "slot", None)
        self._local.slot = None
        if slot is not None:
            slot.close()

    def close(self) -> None:
        """Close every thread's connection (each thread opens another if it is used again)."""
        with self._lock:
            slots = list(self._slots) if self._pid == os.getpid() else []
            self._slots = weakref.WeakSet()
        for slot in slots:
            slot.close()


class _Slot:
    """One thread's held connection; released (and so closed) with the thread's data when it ends."""

    __slots__ = ("conn", "pid", "open", "__weakref__")

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.pid = os.getpid()
        self.open = True

    def close(self) -> None:
        self.open = False
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 -- already closed or broken: nothing more to release
            pass


_HELD: weakref.WeakKeyDictionary[Engine, HeldConnections] = weakref.WeakKeyDictionary()
_HELD_LOCK = threading.Lock()


def held_connections(engine: Engine) -> HeldConnections:
    """The :class:`HeldConnections` of ``engine`` (one per engine; gone with it)."""
    held = _HELD.get(engine)
    if held is None:
        with _HELD_LOCK:
            held = _HELD.get(engine)
            if held is None:
                held = _HELD[engine] = HeldConnections()
    return held


def close_held(engine: Engine) -> None:
    """Close the connections held for ``engine`` (``Store.dispose``)."""
    held = _HELD.pop(engine, None)
    if held is not None:
        held.close()


def held_error(engine: Engine, held: HeldConnections, conn: Any, exc: Exception, what: str) -> StatementError:
    """:func:`driver_error` for a held connection: on a disconnect this thread's connection is closed (its
    next call opens another) and every other thread's given up with the pool's -- the server dropped
    them all; the store retries the call once on a new connection (``Store._retrying``)."""
    invalidated = engine.dialect.is_disconnect(exc, conn, None)  # type: ignore[arg-type]
    if invalidated:
        held.discard()
        _HELD.pop(engine, None)  # the others are closed as their threads let go of them
        engine.dispose(close=False)
    return _as_dbapi_error(engine, exc, what, invalidated)


def driver_error(engine: Engine, fairy: Any, exc: Exception, what: str) -> StatementError:
    """A driver error met on a pooled raw connection (``engine.raw_connection()``, the fast paths that
    bypass SQLAlchemy's statements) as the ``DBAPIError`` SQLAlchemy itself would raise, which is what the
    store translates and retries. A disconnect invalidates the connection and the pool (the server
    dropped its siblings too), so neither is handed out again."""
    invalidated = engine.dialect.is_disconnect(exc, fairy.driver_connection, None)  # type: ignore[arg-type]
    if invalidated:
        fairy.invalidate(exc)
        engine.dispose(close=False)
    return _as_dbapi_error(engine, exc, what, invalidated)


def _as_dbapi_error(engine: Engine, exc: Exception, what: str, invalidated: bool) -> StatementError:
    """The ``DBAPIError`` SQLAlchemy would raise for ``exc``: what the store translates and retries."""
    return DBAPIError.instance(
        what,
        None,
        exc,
        engine.dialect.loaded_dbapi.Error,
        connection_invalidated=invalidated,
        dialect=engine.dialect,
    )


def _safe_reason(exc: Exception) -> str:
    text = str(exc)
    return "cannot parse it" if "://" in text or "@" in text else text


def _sqlite_engine(url: URL, timeout: float) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": timeout, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        _use_wal(cur, timeout)
        cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: consistent after a crash, fast commits
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("mltrace_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _use_wal(cur: sqlite3.Cursor, timeout: float) -> None:
    """Switch a new database file to WAL (it stays so). The switch can fail with "database is locked"
    without waiting when several processes open a fresh file at once, so retry until ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")  # answers "memory" for an in-memory database
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@contextmanager
def session_scope(engine: Engine, write: bool = False) -> Iterator[Session]:
    """One transaction: commit on success, roll back on error, always close."""
    bind = engine.execution_options(mltrace_write=True) if write else engine
    with Session(bind, expire_on_commit=False) as session, session.begin():
        yield session


def schema_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, ``None`` for a database mltrace has never used.
    One query: every task process asks this once when it opens the store."""
    with engine.connect() as conn:
        try:
            return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
        except (OperationalError, ProgrammingError):  # no such table: a fresh database
            conn.rollback()
            if engine.dialect.has_table(conn, VERSION_TABLE):
                raise
            return None


def ensure_schema(engine: Engine) -> None:
    """Set up a fresh database on first use; refuse an old or unknown schema with a clear error."""
    revision = schema_revision(engine)
    if revision == SCHEMA_REVISION:
        return
    if revision is None:
        upgrade(engine)
        return
    if revision in _older_revisions():
        raise SchemaError(
            f"the mltrace schema in this database is at revision {revision}; "
            f"this version needs {SCHEMA_REVISION}: run `mltrace db upgrade`"
        )
    raise SchemaError(
        f"the mltrace schema revision {revision} is unknown to this version of mltrace (newer?)"
    )


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Run the Alembic migrations up to ``revision``; safe when several processes start at once."""
    from alembic import command

    cfg = alembic_config()
    with engine.execution_options(mltrace_write=True).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SETUP_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    current = schema_revision(engine)
    assert current is not None
    return current


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("path_separator", "os")
    return cfg


def _older_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    return {rev.revision for rev in script.walk_revisions()} - {SCHEMA_REVISION}
