"""OpenLineage events become runs: one transaction per batch of events (the caller owns it).

For each OpenLineage run in the batch, its events are merged with what earlier deliveries left
(``openlineage_runs``, see :mod:`.state`), then:

- a run that has ended is written once -- inputs, outputs, lineage -- under its idempotency key: an
  Airflow try's key (the one a traced operator or the listener uses, so a try reported by both is one
  run) or ``openlineage:<run id>``. Written again (a redelivery, a late event), it is merged into the run
  already there (``write.merge_run``): nothing changes unless something was missing;
- a run that has not ended is kept pending and shown as a ``running`` placeholder (no pointers: it enters
  the lineage when it ends); a late START or RUNNING for a run already written only adds what was
  missing (an earlier start, a dataset);
- a SQL query run of a task (``<dag_id>.<task_id>.query.N``, its ``parent`` facet naming the task run)
  folds into the task's run: added to it if written, else held until it is;
- an Airflow DAG run's events are acknowledged, and never a component run;
- a DatasetEvent makes sure its pointer exists; a JobEvent its component and pointers.

On PostgreSQL the batch first takes a transaction-scoped advisory lock per OpenLineage run (and per parent
of a query run), in order, so two API server workers merging events of one run queue up instead of each
missing the other's. There the reads (locks, pending states, runs written) are one call of
``mltrace_ol_read``, and a batch that writes one run (a single event: a START's placeholder, the COMPLETE
that ends it) writes it with its pending state in one call of ``mltrace_ol_write`` (schema 0011): two
statements an event instead of about twelve. The merge itself stays here, in Python, for every backend.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, bindparam, delete, or_, select
from sqlalchemy.orm import Session

from mltrace_core import fastlog
from mltrace_core.batch import write_runs
from mltrace_core.formats import TERMINAL
from mltrace_core.models import components, openlineage_runs, runs, utcnow
from mltrace_core.openlineage import state as st
from mltrace_core.openlineage.events import DatasetEvent, Event, JobEvent, RunEvent
from mltrace_core.runs import RunRecord
from mltrace_core.write import component_id, pointer_ids

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PgInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert

_LOCK_CLASS = 0x6D6C6F6C  # "mlol": the advisory lock space of OpenLineage runs
_LOCK_SPACE = _LOCK_CLASS - 2**32 if _LOCK_CLASS >= 2**31 else _LOCK_CLASS  # as a signed 32-bit integer
# Off: every backend takes the statements of the general path (tests compare the two on PostgreSQL).
SERVER_SIDE = True
_PG_WRITE = (
    f"SELECT mltrace_ol_write({fastlog.LOG_RUN_PARAMS}, %s::text[], %s::text[], %s::text[], %s::text[], %s)"
)


@dataclass(frozen=True)
class IngestResult:
    """What one batch did: events taken, runs written (ended now or again), runs left pending (in
    progress, or query runs waiting for their task), SQL query runs folded into their task's run, and
    events acknowledged without a run (DAG runs, DatasetEvents, JobEvents)."""

    events: int = 0
    written: int = 0
    pending: int = 0
    folded: int = 0
    acknowledged: int = 0

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(
            *(a + b for a, b in zip(self.__dict__.values(), other.__dict__.values(), strict=True))
        )

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def ingest(session: Session, events: list[Event]) -> IngestResult:
    """Store ``events`` (already parsed and checked: :func:`.events.parse`)."""
    by_run: dict[str, list[RunEvent]] = defaultdict(list)
    acknowledged = 0
    for event in events:
        if isinstance(event, RunEvent):
            if event.dag_run:
                acknowledged += 1
            else:
                by_run[event.run_id].append(event)
        else:
            _static(session, event)
            acknowledged += 1
    if not by_run:
        return IngestResult(events=len(events), acknowledged=acknowledged)
    batch = _Batch(session, by_run)
    return IngestResult(
        events=len(events),
        written=batch.written,
        pending=batch.pending,
        folded=batch.folded,
        acknowledged=acknowledged,
    )


def _static(session: Session, event: DatasetEvent | JobEvent) -> None:
    """Static lineage: what can be stored without a run (the pointer; the job's component and pointers)."""
    if isinstance(event, DatasetEvent):
        pointer_ids(session, [(event.dataset.name, None, None)])
        return
    component_id(session, event.job)
    pointer_ids(session, [(p.name, None, None) for p in event.inputs + event.outputs])


class _Batch:
    """One batch's run events, merged and written (see the module docstring)."""

    def __init__(self, session: Session, by_run: dict[str, list[RunEvent]]) -> None:
        self.session = session
        self.written = self.pending = self.folded = 0
        uuids = sorted(by_run)
        parents = {e.parent.run_id for es in by_run.values() for e in es if e.query_of_parent and e.parent}
        ids = uuids + sorted(parents)
        self.server_side = SERVER_SIDE and session.get_bind().dialect.name == "postgresql"
        if self.server_side:
            # The keys these events give (a try's, or openlineage:<run id>); a merged state's key is one of
            # them unless a stored state's airflow facet wins, which costs one more query below.
            guesses = sorted({st.key_of(e.run_id, e.airflow) for es in by_run.values() for e in es})
            stored, children, self.rows, statuses = self._read_pg(uuids, ids, guesses)
        else:
            stored, children = self._pending(uuids)
        merged: dict[str, st.RunState] = {}
        for uuid in uuids:
            state = stored.get(uuid)
            for event in by_run[uuid]:
                state = st.merge(state, event)
            merged[uuid] = cast(st.RunState, state)  # by_run holds at least one event per run
        queries = [s for s in merged.values() if s.query and s.parent is not None]
        others = [s for s in merged.values() if not (s.query and s.parent is not None)]
        # Runs already written: by OpenLineage run id (their key is theirs, whatever later events say),
        # and by the keys these events give (a try a traced operator wrote).
        if not self.server_side:
            self.rows, statuses = self._written(ids, [s.key for s in others])
        else:
            missing = sorted({s.key for s in others} - set(guesses))
            if missing:
                statuses.update(self._written([], missing)[1])
        self.upserts: dict[str, tuple[str | None, str]] = {}
        self.deletes: set[str] = set()
        self.records: list[RunRecord] = []  # written at the end, in this order
        # Query runs waiting for their task: parent uuid -> states (only a task that ends takes them).
        self._held_now: set[str] = set()
        self.held = children
        for state in queries:
            self._query(state)
        keys = {s.run_id: self._key(s) for s in others}
        for state in others:
            key = keys[state.run_id]
            if state.ended:
                self._ended(state, key)
            elif statuses.get(key) in TERMINAL:
                self.records.append(state.record(key))  # a late event of a written run: what it adds
                self.deletes.add(state.run_id)
                self.written += 1
            else:
                self.records.append(state.record(key, pointers=False))  # the `running` placeholder
                self.upserts[state.run_id] = (None, st.to_json(state))
                self.pending += 1
        if self.server_side and len(self.records) == 1 and self._write_pg(self.records[0]):
            return
        _write(session, self.records)
        self._save()

    def _key(self, state: st.RunState) -> str:
        row = self.rows.get(state.run_id)
        return row[0] if row is not None else state.key

    def _ended(self, state: st.RunState, key: str) -> None:
        extra_in: dict[str, str | None] = {}
        extra_out: dict[str, str | None] = {}
        for child in self.held.pop(state.run_id, []):
            ins, outs = child.datasets()
            extra_in.update(ins)
            extra_out.update(outs)
            self.deletes.add(child.run_id)
            self.upserts.pop(child.run_id, None)
            self.folded += 1
            self.pending -= child.run_id in self._held_now
        self.records.append(state.record(key, extra_in, extra_out))
        self.deletes.add(state.run_id)
        self.upserts.pop(state.run_id, None)
        self.written += 1

    def _query(self, state: st.RunState) -> None:
        parent = state.parent[1].run_id  # type: ignore[index]
        row = self.rows.get(parent)
        if row is not None and row[1] in TERMINAL:
            key, status, start, end, component = row
            ins, outs = state.datasets()
            self.records.append(
                RunRecord(
                    key=key,
                    component=component,
                    start=start,
                    end=end,
                    status=status,
                    inputs=tuple((n, v, None) for n, v in sorted(ins.items())),
                    outputs=tuple((n, v, None) for n, v in sorted(outs.items())),
                ).checked(),
            )
            self.deletes.add(state.run_id)
            self.folded += 1
            return
        self.held.setdefault(parent, []).append(state)
        self._held_now.add(state.run_id)
        self.upserts[state.run_id] = (parent, st.to_json(state))
        self.pending += 1

    # -- the database ---------------------------------------------------------------------------------
    def _pending(self, uuids: list[str]) -> tuple[dict[str, st.RunState], dict[str, list[st.RunState]]]:
        """What earlier deliveries left pending, in one query: the states of these runs, and the query runs
        waiting for them (parent uuid -> states; those in this batch are merged afresh instead)."""
        query = select(
            openlineage_runs.c.run_uuid, openlineage_runs.c.parent_uuid, openlineage_runs.c.state
        ).where(
            or_(
                openlineage_runs.c.run_uuid.in_(bindparam("ids", expanding=True)),
                openlineage_runs.c.parent_uuid.in_(bindparam("ids", expanding=True)),
            )
        )
        batch = set(uuids)
        stored: dict[str, st.RunState] = {}
        children: dict[str, list[st.RunState]] = defaultdict(list)
        for uuid, parent, state in self.session.execute(query, {"ids": uuids}):
            if uuid in batch:
                stored[uuid] = st.from_json(state)
            elif parent in batch:
                children[parent].append(st.from_json(state))
        return stored, children

    def _written(
        self, uuids: list[str], keys: list[str]
    ) -> tuple[dict[str, tuple[str, str, datetime, datetime, str]], dict[str, str]]:
        """(OpenLineage run id -> (key, status, start, end, component), key -> status) of the runs
        already written with these OpenLineage run ids or keys: one query."""
        query = (
            select(
                runs.c.ext_ol_run_id,
                runs.c.key,
                runs.c.status,
                runs.c.start_ts,
                runs.c.end_ts,
                components.c.name,
            )
            .join(components, components.c.id == runs.c.component_id)
            .where(
                or_(
                    runs.c.ext_ol_run_id.in_(bindparam("ids", expanding=True)),
                    runs.c.key.in_(bindparam("keys", expanding=True)),
                )
            )
        )
        by_id, by_key = {}, {}
        for ol_id, key, status, start, end, component in self.session.execute(
            query, {"ids": uuids, "keys": sorted(set(keys))}
        ):
            if ol_id in uuids:
                by_id[ol_id] = (key, status, start, end, component)
            by_key[key] = status
        return by_id, by_key

    def _read_pg(
        self, uuids: list[str], ids: list[str], keys: list[str]
    ) -> tuple[
        dict[str, st.RunState],
        dict[str, list[st.RunState]],
        dict[str, tuple[str, str, datetime, datetime, str]],
        dict[str, str],
    ]:
        """PostgreSQL: :meth:`_pending` and :meth:`_written` (by run ids and the ``keys`` given) after the
        runs' advisory locks, in one call of ``mltrace_ol_read`` (schema 0011)."""
        locks = sorted({zlib.crc32(u.encode()) - 2**31 for u in ids})
        batch = set(uuids)
        stored: dict[str, st.RunState] = {}
        children: dict[str, list[st.RunState]] = defaultdict(list)
        by_id: dict[str, tuple[str, str, datetime, datetime, str]] = {}
        by_key: dict[str, str] = {}
        result = self.session.connection().exec_driver_sql(
            "SELECT * FROM mltrace_ol_read(%s, %s::integer[], %s::text[], %s::text[])",
            (_LOCK_SPACE, locks, ids, keys),
        )
        for kind, a, b, c, t1, t2, d in result:
            if kind == 0:  # pending: run uuid, parent uuid, state
                if a in batch:
                    stored[a] = st.from_json(c)
                elif b in batch:
                    children[b].append(st.from_json(c))
            else:  # written: OpenLineage run id, key, status, start, end, component
                if a in ids:
                    by_id[a] = (b, c, t1.astimezone(timezone.utc), t2.astimezone(timezone.utc), d)
                by_key[b] = c
        return stored, children, by_id, by_key

    def _write_pg(self, rec: RunRecord) -> bool:
        """PostgreSQL, a batch that wrote one run (a single event): the run and the pending state in one
        call of ``mltrace_ol_write`` (schema 0011). ``False``: nothing of the run written (a merge other
        than ending a placeholder); the caller takes the general path."""
        upserts = sorted(self.upserts.items())
        args = (
            *fastlog.log_run_args(rec),
            sorted(self.deletes - set(self.upserts)),
            [u for u, _ in upserts],
            [parent for _, (parent, _) in upserts],
            [state for _, (_, state) in upserts],
            utcnow(),
        )
        return self.session.connection().exec_driver_sql(_PG_WRITE, args).scalar() is not None

    def _save(self) -> None:
        conn = self.session.connection()
        gone = sorted(self.deletes - set(self.upserts))
        if gone:
            conn.execute(
                delete(openlineage_runs).where(
                    openlineage_runs.c.run_uuid.in_(bindparam("ids", expanding=True))
                ),
                {"ids": gone},
            )
        if self.upserts:
            now = utcnow()
            conn.execute(
                _upsert(conn.dialect.name),
                [
                    {"run_uuid": uuid, "parent_uuid": parent, "state": state, "updated_at": now}
                    for uuid, (parent, state) in sorted(self.upserts.items())
                ],
            )


def _write(session: Session, records: list[RunRecord]) -> None:
    """Write (or merge) the batch's runs, in order, in the caller's transaction."""
    write_runs(session, records)


def _upsert(dialect: str) -> PgInsert | SqliteInsert:
    insert: Callable[[Table], PgInsert | SqliteInsert]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(openlineage_runs)
    return stmt.on_conflict_do_update(
        index_elements=["run_uuid"],
        set_={
            "state": stmt.excluded.state,
            "parent_uuid": stmt.excluded.parent_uuid,
            "updated_at": stmt.excluded.updated_at,
        },
    )
