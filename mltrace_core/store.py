"""The store: one database, every operation, errors translated once at this boundary."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from mltrace_core import (
    addresses,
    catalog,
    checks,
    db,
    details,
    diff,
    fastlog,
    fastread,
    fasttrace,
    flags,
    impact,
    lineage,
    queries,
    staleness,
    versions,
)
from mltrace_core import validation as valid
from mltrace_core.batch import write_runs
from mltrace_core.bound import CallBound
from mltrace_core.config import get_db_uri, normalize_uri, redact_uri, store_fingerprint
from mltrace_core.entities.component import Component
from mltrace_core.entities.component_run import ComponentRun
from mltrace_core.errors import InvalidInputError, InvalidTypeError, MltraceError, StoreUnavailableError
from mltrace_core.flags import FlagHit
from mltrace_core.openlineage import ingest as ol_ingest
from mltrace_core.openlineage.events import Event
from mltrace_core.openlineage.ingest import IngestResult
from mltrace_core.records import (
    Address,
    ExternalIdentity,
    FlagRecord,
    Impact,
    PointerVersion,
    Review,
    Run,
    RunDetail,
    Trace,
    TraceDiff,
)
from mltrace_core.runs import RunRecord
from mltrace_core.versions import VersionMap
from mltrace_core.write import write_run

T = TypeVar("T")
# Transient conflicts between concurrent writers, retried inside the store (callers never see them).
_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected
LOG_MANY_CHUNK = 1000  # runs per transaction of Store.log_many


class Store:
    """A lineage store at ``uri`` (default: :func:`mltrace_core.get_db_uri`). Set up on first use.

    ``timeout`` bounds every call end to end, in seconds of wall-clock time: connecting, waiting for
    locks, the statements, retries of transient conflicts, and whatever the network does (see
    :mod:`mltrace_core.bound`). ``max_in_flight``: at most this many calls at once (admission control,
    for a server that shares its threads); ``None`` for no limit. Most code gets its stores from
    :func:`mltrace_core.stores.get`, one per URI and bounds in a process."""

    def __init__(
        self, uri: str | None = None, timeout: float = 30.0, max_in_flight: int | None = None
    ) -> None:
        self.uri = uri or get_db_uri()
        self.timeout = timeout
        self.max_in_flight = max_in_flight
        self._bound = CallBound(timeout, max_in_flight, threaded=not _is_local(self.uri))
        self._redacted = redact_uri(self.uri)  # named in every call's timeout error: worked out once
        self._engine: Engine | None = None
        self._ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Store({redact_uri(self.uri)!r})"

    @property
    def fingerprint(self) -> str:
        """A stable name of this store without its password (see :func:`config.store_fingerprint`)."""
        return store_fingerprint(self.uri)

    # -- plumbing -------------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._translate():
                self._engine = db.make_engine(self.uri, self.timeout)
        return self._engine

    @contextmanager
    def session(self, write: bool = False) -> Iterator[Session]:
        """One transaction on the store (set up on first use), errors translated. Not bounded in time by
        itself: the store's own operations run inside :meth:`_read`/:meth:`_write`."""
        with self._translate():
            self._ensure_ready()
            with db.session_scope(self.engine, write=write) as s:
                yield s

    def _ensure_ready(self) -> None:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    db.ensure_schema(self.engine)
                    self._ready = True

    def _read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(session, *args)`` in a read transaction, within the time bound."""
        return self._bounded(lambda deadline: self._retrying(lambda: self._run_read(fn, args), deadline))

    def _fast_read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(cursor, dialect, *args)`` on a driver connection, within the time bound (see
        :mod:`mltrace_core.fastread`: one statement, no ORM session)."""

        def once() -> T:
            with self._translate():
                self._ensure_ready()
                return fastread.read(self.engine, fn, *args)

        return self._bounded(lambda deadline: self._retrying(once, deadline))

    def _write(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(session, *args)`` in a write transaction, retrying transient conflicts, within the bound."""
        return self._bounded(lambda deadline: self._run_write(fn, args, deadline))

    def _run_read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self.session() as s:
            return fn(s, *args)

    def _run_write(self, fn: Callable[..., T], args: tuple[Any, ...], deadline: float) -> T:
        return self._retrying(lambda: self._write_once(fn, args), deadline)

    def _write_once(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self.session(write=True) as s:
            return fn(s, *args)

    def _retrying(self, call: Callable[[], T], deadline: float) -> T:
        """``call()``, again after a transient conflict (with a random pause) or once right away after a
        lost connection (a restarted server: the pool was invalidated, the next connection is new -- so no
        connection is pinged before use), until ``deadline``."""
        attempt, reconnected = 0, False
        while True:
            try:
                return call()
            except StoreUnavailableError as exc:
                if _disconnected(exc.__cause__) and not reconnected:
                    reconnected = True
                    continue
                attempt += 1
                pause = min(0.5, 0.005 * 2**attempt) * random.random()
                if not _transient(exc.__cause__) or time.monotonic() + pause >= deadline:
                    raise
                time.sleep(pause)

    def _log_fast(self, record: RunRecord) -> fastlog.Logged | None:
        with self._translate():
            self._ensure_ready()
            return fastlog.log(self.engine, record)

    def _bounded(self, call: Callable[[float], T]) -> T:
        """``call(deadline)`` within :attr:`timeout` (see :mod:`mltrace_core.bound`)."""
        return self._bound.call(call, self._redacted, self._drop_pool)

    def _drop_pool(self) -> None:
        """A call did not answer in time: never hand its connection out again (it stays with its worker)."""
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose(close=False)

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except MltraceError:
            raise
        except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError) as exc:
            raise InvalidInputError(f"invalid database URI {redact_uri(self.uri)}: {exc}") from exc
        except ModuleNotFoundError as exc:
            raise StoreUnavailableError(
                f"the driver for {redact_uri(self.uri)} is not installed ({exc.name}); "
                "for PostgreSQL install mltrace-airflow[postgres]"
            ) from exc
        except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError) as exc:
            reason = (
                str(getattr(exc, "orig", exc)).strip().splitlines()[0]
                if str(exc).strip()
                else type(exc).__name__
            )
            raise StoreUnavailableError(
                f"mltrace store {redact_uri(self.uri)} unavailable: {reason}"
            ) from exc
        except sa_exc.DataError as exc:
            raise InvalidInputError(f"the store rejected a value: {str(exc.orig).splitlines()[0]}") from exc
        except sa_exc.SQLAlchemyError as exc:
            raise MltraceError(f"mltrace store error: {type(exc).__name__}") from exc

    def dispose(self) -> None:
        if self._engine is not None:
            db.close_held(self._engine)
            self._engine.dispose()
            self._engine = None
            self._ready = False

    # -- schema ---------------------------------------------------------------------------------
    def upgrade(self) -> str:
        """Bring the schema to this version's revision; return it."""
        with self._translate():
            revision = db.upgrade(self.engine)
        self._ready = True
        return revision

    def schema_revision(self) -> str | None:
        def revision(deadline: float) -> str | None:
            with self._translate():
                return db.schema_revision(self.engine)

        return self._bounded(revision)

    # -- writing --------------------------------------------------------------------------------
    def log(self, run: ComponentRun | RunRecord) -> int:
        """Write one run with its inputs, outputs and lineage, all at once; return its id.
        Logging the same run (same key) again writes nothing and returns the first id. A run that
        carries a staleness threshold (mltrace 0.17's API) and is stale by 0.17's rules is logged with
        0.17's warning (:mod:`mltrace_core.staleness`), judged by the write itself."""
        record = run.to_record() if isinstance(run, ComponentRun) else run.checked()

        def log(deadline: float) -> fastlog.Logged:
            # A new run takes the one-round-trip path (mltrace_core/fastlog.py); a merge the general one.
            logged = self._retrying(lambda: self._log_fast(record), deadline)
            return logged if logged is not None else self._run_write(_write_judged, (record,), deadline)

        run_id, stale = self._bounded(log)
        if stale:
            staleness.warn(run_id, record.component, stale)
        return run_id

    def log_many(self, runs: Iterable[ComponentRun | RunRecord], chunk: int = LOG_MANY_CHUNK) -> list[int]:
        """Write many runs (replays, backfills, batch ingestion); return their ids in the order given.
        The stored result is exactly that of :meth:`log` called on each in turn -- rows, lineage, and
        a key logged before (or twice here) giving the first id -- but set-based: a transaction per
        ``chunk`` runs, a few statements each (see :mod:`mltrace_core.batch`). Every run is validated
        before anything is written; if a chunk fails, the chunks before it stay written (logging them
        again changes nothing)."""
        records = [run.to_record() if isinstance(run, ComponentRun) else run.checked() for run in runs]
        size = valid.integer(chunk, "chunk", 1, 100_000)
        ids: list[int] = []
        for at in range(0, len(records), size):
            ids += self._write(write_runs, records[at : at + size])
        return ids

    def ingest(self, events: Iterable[Event]) -> IngestResult:
        """Store OpenLineage events (parsed by :func:`mltrace_core.openlineage.parse`) in one transaction:
        ended runs are written, runs in progress kept pending, redeliveries change nothing (see
        :mod:`mltrace_core.openlineage.ingest`)."""
        return self._write(ol_ingest.ingest, list(events))

    def create_component(
        self, name: str, description: str = "", owner: str = "", tags: str | Iterable[str] = ()
    ) -> None:
        args = (
            valid.name(name, "component name"),
            valid.text(description, "description"),
            valid.name(owner, "owner") if owner else "",
            _tags(tags),
        )
        self._write(catalog.create_component, *args)

    def tag_component(self, name: str, tags: str | Iterable[str]) -> None:
        self._write(catalog.tag_component, valid.name(name, "component name"), _tags(tags))

    # -- flags (mltrace_core.flags) --------------------------------------------------------------
    def flag(self, address: str, reason: str | None = None, by: str | None = None) -> FlagRecord:
        """Flag ``NAME`` (every version) or ``NAME@VERSION`` (that one); ``by``: default the OS user."""
        why = valid.text(reason, "reason") or None
        who = valid.name(by, "user", 256) if by is not None else flags.os_user()
        return self._write(flags.flag, addresses.checked(address), why, who)

    def unflag(self, address: str) -> int:
        """End the active flags on exactly ``address``'s target (``NAME``: all of the pointer's)."""
        return self._write(flags.unflag, addresses.checked(address))

    def flags(self, pointer: str | None = None, active_only: bool = False) -> list[FlagRecord]:
        """Flag records (history included unless ``active_only``), of every pointer or of ``pointer``."""
        name = None if pointer is None else valid.name(pointer, "pointer name")
        return self._read(flags.history, name, active_only)

    def flags_on(self, inputs: Iterable[tuple[str, str | None]]) -> list[FlagHit]:
        """The active flags reaching what a try about to run reads, ``inputs`` ((pointer name, version or
        None) pairs), or what those were made from (their lineage); see :func:`mltrace_core.flags.flags_on`.
        One statement; one index probe when nothing is flagged."""
        pairs = [(valid.name(n, "pointer name"), valid.version(v)) for n, v in inputs]
        return self._fast_read(flags.check, pairs)

    def impact(self, address: str, limit: int | None = None, after: int | str | None = None) -> Impact:
        """Every run downstream of ``address`` (``NAME``, ``NAME@VERSION``, ``run:ID``), paged by run id,
        with liveness and the Airflow DAG runs affected (see :mod:`mltrace_core.impact`)."""
        count = impact.DEFAULT_LIMIT if limit is None else valid.limit(limit)
        start = None if after is None else valid.run_id(after)
        return self._read(impact.impact, addresses.checked(address), count, start)

    def flag_output_id(self, output_id: str) -> None:
        self.flag(output_id)

    def unflag_output_id(self, output_id: str) -> None:
        self.unflag(output_id)

    def unflag_all(self) -> int:
        return self._write(flags.unflag_all)

    def add_notes(self, run_id: int | str, notes: str) -> str:
        """Replace the notes of a logged run; return them."""
        if not isinstance(notes, str):
            raise InvalidTypeError("notes field must be of type str")
        return self._write(catalog.set_notes, valid.run_id(run_id), valid.text(notes, "notes"))

    def get_pointer(
        self, name: str, create: bool = False, type: str | None = None
    ) -> tuple[str, str | None, bool]:
        """(name, type, flagged) of a pointer; ``create``: made if missing, else :class:`NotFoundError`."""
        name = valid.name(name, "pointer name")
        ptype = None if type is None else valid.name(type, "pointer type", 64)
        if create:
            return self._write(catalog.pointer, name, True, ptype)
        return self._read(catalog.pointer, name, False, ptype)

    def get_pointer_types(self, names: Iterable[str]) -> dict[str, str | None]:
        return self._read(catalog.pointer_types, [valid.name(n, "pointer name") for n in names])

    def writer_of_version(self, version: str) -> str | None:
        """The pointer most recently written at ``version``, by any name (``None``: no such output)."""
        return self._read(catalog.writer_of_version, valid.version(version))

    def delete_everything(self) -> None:
        """Delete every component, run and pointer (the schema stays). There is no undo."""
        self._write(catalog.delete_everything)

    # -- reading --------------------------------------------------------------------------------
    def get_recent_runs(self, limit: int = 20) -> list[Run]:
        count = valid.limit(limit)
        found = self._fast_read(fastread.recent, count)
        return found if found is not None else self._read(queries.recent_runs, count)

    def get_recent_run_ids(self, limit: int = 20, last_run_id: int | str | None = None) -> list[int]:
        """Ids of the newest runs; ``last_run_id``: the next page, the runs listed after that one."""
        after = None if last_run_id is None else valid.run_id(last_run_id)
        return self._read(queries.recent_run_ids, valid.limit(limit), after)

    def get_history(
        self,
        component_name: str,
        limit: int = 10,
        date_lower: datetime | str | None = None,
        date_upper: datetime | str | None = None,
    ) -> list[Run]:
        """The component's runs, newest first; ``date_lower``/``date_upper`` (datetimes or ISO-8601
        text, naive meaning UTC; ``None``, ``datetime.min``/``max``: no bound) keep those that started in
        that range."""
        name, count = valid.name(component_name, "component name"), valid.limit(limit)
        lower, upper = valid.time_bound(date_lower, "date_lower"), valid.time_bound(date_upper, "date_upper")
        found = self._fast_read(fastread.history, name, count) if lower is None and upper is None else None
        return found if found is not None else self._read(queries.history, name, count, lower, upper)

    def get_component_run_information(self, run_id: int | str) -> RunDetail:
        """Everything about one run (see :mod:`mltrace_core.details`)."""
        rid = valid.run_id(run_id)
        found = self._fast_read(fastread.detail, rid)
        return found if found is not None else self._read(details.detail, rid)

    def with_code_details(self, loaded: list[Run]) -> list[Run]:
        """``loaded`` with git hash, git tags, code snapshot and upstream component names filled in."""
        return self._read(details.with_code_details, loaded) if loaded else []

    def get_runs(self, run_ids: Iterable[object]) -> list[Run]:
        """Runs by id, in the order given; unknown ids are left out."""
        ids = [valid.run_id(i) for i in run_ids]
        return queries.ordered(self._read(queries.load_runs, ids), ids)

    def get_runs_for_dag_run(
        self,
        dag_id: str,
        run_id: str,
        task_id: str | None = None,
        map_index: int | None = None,
        try_number: int | None = None,
    ) -> list[Run]:
        """The runs logged for one Airflow DAG run (optionally one task, map index, try), in start order."""
        if dag_id is None or run_id is None:
            raise InvalidInputError("a DAG run is named by its dag_id and run_id")
        ext = valid.external(ExternalIdentity(dag_id, run_id, task_id, try_number, map_index))
        return self._read(queries.runs_for_external, ext)

    def resolve(self, address: str, as_of: datetime | str | None = None) -> Address:
        """Where a trace of ``address`` starts: ``NAME`` (its latest version, or the latest written by a
        run that ended at or before ``as_of``), ``NAME@VERSION`` or ``run:ID`` (see
        :mod:`mltrace_core.addresses`). ``as_of``: a datetime (naive means UTC) or what a user typed
        (ISO-8601, or ``2d``-style before now)."""
        return self._read(addresses.resolve, addresses.checked(address), _as_of(as_of))

    def trace(
        self,
        output_name: str | Address,
        max_depth: int | None = None,
        as_of: datetime | str | None = None,
    ) -> Trace:
        """The lineage of ``output_name``, any address (see :meth:`resolve`) or an address resolved
        already (then ``as_of`` does not apply), up to ``max_depth`` levels. The whole trace of a pointer's
        latest version, the common case, is one statement (see :mod:`mltrace_core.fasttrace`)."""
        depth = None if max_depth is None else valid.depth(max_depth)
        if isinstance(output_name, Address):
            return self._read(addresses.trace_of, output_name, depth)
        address = addresses.checked(output_name)
        name = fasttrace.plain_name(address) if depth is None and as_of is None else None
        found = None if name is None else self._fast_read(fasttrace.trace_named, name)
        return found if found is not None else self._read(addresses.trace, address, _as_of(as_of), depth)

    def trace_data(
        self,
        output_name: str | Address,
        max_depth: int | None = None,
        as_of: datetime | str | None = None,
    ) -> dict[str, Any]:
        """``trace(...).to_dict()``, the JSON shape the CLI and the web API share; a whole trace is built
        straight from the database's rows, without a record per run and edge (see
        :mod:`mltrace_core.fasttrace`)."""
        depth = None if max_depth is None else valid.depth(max_depth)
        address = None if isinstance(output_name, Address) else addresses.checked(output_name)
        if address is not None and depth is None and as_of is None:
            name = fasttrace.plain_name(address)  # a pointer's latest version: one statement
            found = None if name is None else self._fast_read(fasttrace.trace_data_named, name)
            if found is not None:
                return found

        def run(session: Session) -> dict[str, Any]:
            where = addresses.resolve(session, address, _as_of(as_of)) if address is not None else output_name
            assert isinstance(where, Address)
            return lineage.trace_data_of(session, where, depth)

        return self._read(run)

    def check(
        self,
        address: str | Address,
        *,
        as_of: datetime | str | None = None,
        max_input_age: timedelta | float | str | None = None,
        require_components: str | Iterable[str] = (),
        now: datetime | None = None,
    ) -> checks.CheckResult:
        """Whether the whole trace of ``address`` (any address, see :meth:`resolve`) is fit to promote:
        no flagged pointer, failed run, stale input, failed test, input older than ``max_input_age``
        (a timedelta, seconds or ``"7d"``), and a run of each of ``require_components``; every reason
        names the run it came from (see :mod:`mltrace_core.checks`). One read transaction."""
        age = checks.input_age(max_input_age)
        required = checks.required_components(require_components)
        when = None if now is None else valid.utc(now, "now")

        def run(session: Session) -> checks.CheckResult:
            where = (
                address
                if isinstance(address, Address)
                else addresses.resolve(session, addresses.checked(address), _as_of(as_of))
            )
            return checks.check(session, where, max_input_age=age, require_components=required, now=when)

        return self._read(run)

    def lineage_marks(self, run_ids: Iterable[object]) -> checks.LineageMarks:
        """For the views: the flagged pointers the runs read or wrote, and the latest decision of each
        lineage gate that checked what they wrote (see :func:`mltrace_core.checks.marks`)."""
        ids = [valid.run_id(i) for i in run_ids]
        return self._read(checks.marks, ids)

    def openlineage_page(
        self,
        after: int,
        namespace: str,
        since: datetime | str | None = None,
        component: str | None = None,
        limit: int | None = None,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """OpenLineage events of the next runs with ids above ``after``, and the last id read (``None``:
        none left); see :mod:`mltrace_core.olexport`. One bounded call: an export calls it page by page."""
        from mltrace_core import olexport

        size = olexport.PAGE if limit is None else valid.integer(limit, "page size", 1, 100_000)
        return self._read(olexport.page, int(after), namespace, _as_of(since), component, size)

    def openlineage_count(self, since: datetime | str | None = None, component: str | None = None) -> int:
        """How many runs an OpenLineage export with these filters has."""
        from mltrace_core import olexport

        return self._read(olexport.count, _as_of(since), component)

    def versions(
        self, name: str, limit: int | None = None, start: int | str | None = None
    ) -> list[PointerVersion]:
        """Every write of pointer ``name``, newest first (end time, then run id), with its readers; the
        newest ``limit``; from run ``start``'s write of it on (older ones: the next page)."""
        count = None if limit is None else valid.limit(limit)
        first = None if start is None else valid.run_id(start)
        return self._read(versions.versions, valid.name(name, "pointer name"), count, first)

    def diff(
        self,
        a: str,
        b: str,
        as_of_a: datetime | str | None = None,
        as_of_b: datetime | str | None = None,
    ) -> TraceDiff:
        """The traces of two addresses matched run by run (see :mod:`mltrace_core.diff`)."""
        return self._read(
            diff.between, addresses.checked(a), addresses.checked(b), _as_of(as_of_a), _as_of(as_of_b)
        )

    def previous_run(self, run_id: int | str) -> Run | None:
        """The run of the same component that started just before ``run_id``; ``None`` for its first."""
        return self._read(versions.previous_run, valid.run_id(run_id))

    def get_pointer_versions(self, run_ids: Iterable[object]) -> dict[int, tuple[VersionMap, VersionMap]]:
        """For each run, ``({input: version or None}, {output: version or None})``."""
        ids = [valid.run_id(i) for i in run_ids]
        return self._read(versions.pointer_versions, ids)

    def backtrace(self, output_name: str) -> list[tuple[int, Run]]:
        """The trace as (depth, run) pairs, in trace order (by depth, newest first within one)."""
        return [(node.depth, node.run) for node in self.trace(output_name).nodes]

    def downstream(self, pointer_name: str, max_depth: int | None = None) -> Trace:
        """Every run downstream of an address: ``NAME`` (every reader of any version), ``NAME@VERSION``
        (the readers linked to that version's writers, and of exactly that version) or ``run:ID`` (the
        readers of that run's outputs), then what they led to; the start itself never included."""
        depth = None if max_depth is None else valid.depth(max_depth)
        return self._read(impact.downstream, addresses.checked(pointer_name), depth)

    def get_components(self, tag: str | None = None, owner: str | None = None) -> list[Component]:
        tag = None if tag is None else valid.name(tag, "tag")
        owner = None if owner is None else valid.name(owner, "owner")
        found = self._fast_read(fastread.components, tag, owner, None)  # one statement
        return found if found is not None else self._read(catalog.list_components, tag, owner)

    def get_component(self, name: str) -> Component:
        return self._read(catalog.get_component, valid.name(name, "component name"))

    def get_flagged(self) -> list[str]:
        """The names of the flagged outputs."""
        return self._read(flags.flagged_names)

    def get_tags(self) -> list[str]:
        return self._read(catalog.list_tags)

    def review_flagged_outputs(self, limit: int | None = None) -> Review:
        """Flagged outputs, flag records and the likely culprits (see :func:`mltrace_core.flags.review`);
        ``limit``: the most recent records and most common runs only, for a page."""
        return self._read(flags.review, None if limit is None else valid.limit(limit))


def _write_judged(session: Session, record: RunRecord) -> fastlog.Logged:
    """The general write (a merge, a run with test results), with the staleness messages of a run that
    carries a threshold, read in the same transaction."""
    run_id = write_run(session, record)
    if record.staleness_threshold is None:
        return run_id, ()
    return run_id, tuple(staleness.messages(session, [run_id])[run_id])


def _as_of(value: datetime | str | None) -> datetime | None:
    return None if value is None else valid.point_in_time(value)


def _tags(tags: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(tags, str):
        tags = [tags]
    return tuple(valid.name(t, "tag") for t in tags)


def _is_local(uri: str) -> bool:
    """SQLite runs in this process: no network to freeze, so no worker thread is needed."""
    return normalize_uri(uri).startswith("sqlite")


def _disconnected(cause: BaseException | None) -> bool:
    return isinstance(cause, sa_exc.DBAPIError) and cause.connection_invalidated


def _transient(cause: BaseException | None) -> bool:
    orig = getattr(cause, "orig", None)
    if getattr(orig, "pgcode", None) in _RETRY_SQLSTATES:
        return True
    message = str(orig or "").lower()
    return "database is locked" in message or "database is busy" in message
