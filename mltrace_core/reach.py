"""What each active flag reaches, kept materialised (``flag_reach``, schema 0014), so the check of a try
is a few index probes however deep its lineage and however old the flagged data.

A run R is in the reach of flag F when F reaches one of R's reads or writes (:func:`flags.reaches`: R
*touches* F) or when one of R's producers (its lineage edges) is: the runs made from flagged data. The
row also keeps ``via``, the latest run (highest id) upstream of R, R included, that touches F -- the run
the check names. Both are functions of R's own reads and writes and of its producers' rows, so a row
changes only when the run, its edges, or something upstream of it changes:

- a flag added: the runs downstream of (or equal to) the runs it touches are computed again; ended
  flags lose their rows;
- a write (a new run, a batch, a merge, a late run that takes over consumers): the runs downstream of
  the runs whose reads, writes or edges changed -- the new run (its relinked consumers are downstream of
  it), and for a merge that relinks pointers from scratch, their readers. That set is closed downstream,
  so nothing outside it changes; inside it, runs are computed in (start, id) order, which the lineage
  rule makes a topological order (a producer ends at or before its consumer starts; at the same start,
  the producer has the lower id), each from its own reads and writes and its producers' finished rows.

Only when some pointer is flagged: otherwise the table is empty and a write pays one probe of the
partial index of flagged pointers.

PostgreSQL: the same algorithm is a server-side function (``mltrace_flag_reach``), called by the log
function, the OpenLineage write function and the Python write paths (``mltrace_flag_reach_logged``).
Concurrency: a writer takes a shared advisory lock (:data:`GATE`) before it asks whether anything is
flagged, and flagging or unflagging takes it exclusively, so a flag committed while a run is logged is
seen by one side or the other, never missed by both; writers that maintain rows queue on a second lock
(:data:`WRITE`), so a late run's new consumers and a run logged downstream of them meanwhile see each
other. Every computing statement starts after its lock (READ COMMITTED: a fresh snapshot each).
SQLite has one writer at a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

# Advisory lock keys (one-number form, apart from the OpenLineage ingest's two-number locks).
GATE = 7_377_540_001
WRITE = 7_377_540_002

_PROBE = "SELECT 1 FROM pointers WHERE flagged = 1 LIMIT 1"  # the partial index of flagged pointers

# The runs downstream of the seeds (?1, a JSON list), in (start, id) order: a topological order.
_DOWN = """
WITH RECURSIVE down(run_id) AS (
    SELECT value FROM json_each(?1)
    UNION
    SELECT d.consumer_run_id FROM run_dependencies d JOIN down w ON d.producer_run_id = w.run_id
)
SELECT r.id FROM down JOIN component_runs r ON r.id = down.run_id ORDER BY r.start_ts, r.id
"""


def _definition() -> tuple[Callable[..., str], str, str]:
    """What a flag reaches, as :mod:`mltrace_core.flags` defines it (imported here when first used: it
    imports this module): ``reaches``, and its arguments for a read ``i`` and a write ``o``."""
    from mltrace_core.flags import linked_producer, reaches, read_version

    return reaches, read_version("i.version", linked_producer("i"), "i.pointer_id"), "o.version"


def run_reach(run: str) -> str:
    """SQL (SQLite): insert the rows of run ``run`` (an SQL expression) from its reads and writes and its
    producers' rows. (Migration 0014 holds the PostgreSQL function's copy, which probes each read's and
    write's flags by pointer through LATERAL, a word SQLite lacks.) Producers' rows are of active flags
    only: ending a flag deletes its rows in the same transaction (on PostgreSQL under the exclusive
    lock, after any writer holding the shared one)."""
    reaches, read, write = _definition()

    def is_flagged(side: str) -> str:  # a probe by primary key, never a scan of the flagged ones
        return f"(SELECT p.flagged FROM pointers p WHERE p.id = {side}.pointer_id) = 1"

    return f"""
    INSERT INTO flag_reach (run_id, flag_id, via)
    SELECT {run}, t.flag_id, MAX(t.via) FROM (
        SELECT r.flag_id AS flag_id, r.via AS via
          FROM run_dependencies d JOIN flag_reach r ON r.run_id = d.producer_run_id
         WHERE d.consumer_run_id = {run}
        UNION ALL
        SELECT f.id, {run} FROM run_inputs i JOIN flags f ON {reaches("f", "i.pointer_id", read)}
         WHERE i.run_id = {run} AND {is_flagged("i")}
        UNION ALL
        SELECT f.id, {run} FROM run_outputs o JOIN flags f ON {reaches("f", "o.pointer_id", write)}
         WHERE o.run_id = {run} AND {is_flagged("o")}
    ) AS t GROUP BY t.flag_id
    """


@cache
def _run_sqlite() -> str:
    return run_reach("?1")


def touching(flag: str) -> str:
    """SQL: the runs that read or write what flag ``flag`` (an SQL expression: its id) reaches."""
    reaches, read, write = _definition()
    return f"""
    SELECT i.run_id FROM flags f JOIN run_inputs i ON {reaches("f", "i.pointer_id", read)}
     WHERE f.id = {flag}
    UNION
    SELECT o.run_id FROM flags f JOIN run_outputs o ON {reaches("f", "o.pointer_id", write)}
     WHERE f.id = {flag}
    """


def recompute_sqlite(cursor: Any, seeds: Iterable[int]) -> None:
    """SQLite: the rows of the runs downstream of ``seeds`` (them included), computed again."""
    down = [row[0] for row in cursor.execute(_DOWN, (json.dumps(sorted(set(seeds))),)).fetchall()]
    if not down:
        return
    cursor.execute(
        "DELETE FROM flag_reach WHERE run_id IN (SELECT value FROM json_each(?))", (json.dumps(down),)
    )
    cursor.executemany(_run_sqlite(), [(run,) for run in down])


def logged_sqlite(cursor: Any, runs: Iterable[int]) -> None:
    """SQLite, after a write (inside its transaction): keep the rows of ``runs`` and what is downstream
    of them, if anything is flagged."""
    if cursor.execute(_PROBE).fetchone() is not None:
        recompute_sqlite(cursor, runs)


def after_write(session: Session, runs: list[int], pointers: Iterable[int] = ()) -> None:
    """After a write in ``session``'s transaction: the rows of ``runs``, of the readers of ``pointers``
    (relinked from scratch) and of everything downstream, if anything is flagged."""
    conn = session.connection()
    pointers = sorted(set(pointers))
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "SELECT mltrace_flag_reach_logged(%s::bigint[], %s::bigint[])", (list(runs), pointers)
        )
        return
    cursor = conn.connection.cursor()
    try:
        if cursor.execute(_PROBE).fetchone() is None:
            return
        if pointers:
            marks = ",".join("?" * len(pointers))
            readers = cursor.execute(
                f"SELECT DISTINCT run_id FROM run_inputs WHERE pointer_id IN ({marks})", pointers
            ).fetchall()
            runs = list(runs) + [r for (r,) in readers]
        recompute_sqlite(cursor, runs)
    finally:
        cursor.close()


def flag_added(session: Session, flag_id: int) -> None:
    """A new active flag ``flag_id``: the rows of the runs it touches and of everything downstream."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (GATE,))
        # its own statement, after the lock: its snapshot sees every writer that held the lock before
        conn.exec_driver_sql(f"SELECT mltrace_flag_reach(ARRAY({touching('%s')}))", (flag_id, flag_id))
        return
    cursor = conn.connection.cursor()
    try:
        runs = [r for (r,) in cursor.execute(touching("?1"), (flag_id,)).fetchall()]
        recompute_sqlite(cursor, runs)
    finally:
        cursor.close()


def flags_ended(session: Session, pointer_id: int | None) -> None:
    """The rows of the flags just ended on pointer ``pointer_id`` (``None``: every flag) go."""
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (GATE,))
    if pointer_id is None:
        conn.exec_driver_sql("DELETE FROM flag_reach")
        return
    conn.exec_driver_sql(
        "DELETE FROM flag_reach WHERE flag_id IN"
        f" (SELECT id FROM flags WHERE pointer_id = {'%s' if postgres else '?'} AND unflagged_at IS NOT NULL)",
        (pointer_id,),
    )
