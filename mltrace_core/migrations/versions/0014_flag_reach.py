"""What each active flag reaches, kept materialised: the check of a try in a few index probes

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30

The check of a try's inputs (``mltrace_core/flags.py``) walked the upstream lineage of the try's
producers back to the oldest flagged data: 80-250 ms where that data is old and a 10,000-run DAG was made
from it. ``flag_reach(run_id, flag_id, via)`` now holds, for each active flag, the runs that read or
write what it reaches or have such a run upstream, and ``via``, the latest such run upstream (the one the
check names); the check reads the rows of the try's producers. How the rows are kept:
``mltrace_core/reach.py``.

PostgreSQL: ``mltrace_flag_reach(runs)`` computes again the rows of the runs downstream of ``runs``;
``mltrace_flag_reach_logged(runs, pointers)`` is what a write calls (the advisory locks, the probe of the
partial index of flagged pointers, then the function). ``mltrace_log_run`` (0010) and ``mltrace_ol_write``
(0011) call it after writing a run; their bodies are otherwise theirs. Stores with active flags get their
rows here.

No foreign key on ``run_id``: its check would share-lock the run row, which a merge holds for update
while it waits for the maintenance lock another writer holds -- a deadlock. Runs are only ever deleted
all at once, with the flags (``catalog.delete_everything``), and the rows go with their flag.
"""

import importlib.util
import json
import textwrap
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
GATE, WRITE = 7_377_540_001, 7_377_540_002  # mltrace_core/reach.py's advisory lock keys


def _run_reach(run: str, flagged: str, lateral: bool) -> str:
    """The rows of run ``run`` from its reads and writes and its producers' rows (reach.run_reach).
    ``lateral`` (PostgreSQL): the flags of each read or write probed by pointer, never the other way
    round (a planner may start from the flags, a hundred probes a run)."""

    def flags_of(side: str, version: str) -> str:
        match = (
            f"f.pointer_id = {side}.pointer_id AND f.unflagged_at IS NULL"
            f" AND (f.version IS NULL OR f.version = {version})"
        )
        if lateral:
            return f"JOIN LATERAL (SELECT f.id FROM flags f WHERE {match}) f ON true"
        return f"JOIN flags f ON {match}"

    read = (
        "COALESCE(i.version, (SELECT w.version FROM run_outputs w WHERE w.pointer_id = i.pointer_id"
        " AND w.run_id = (SELECT d.producer_run_id FROM run_dependencies d"
        " WHERE d.consumer_run_id = i.run_id AND d.pointer_id = i.pointer_id)))"
    )

    def is_flagged(side: str) -> str:
        return f"(SELECT p.flagged FROM pointers p WHERE p.id = {side}.pointer_id){flagged}"

    return f"""
    INSERT INTO flag_reach (run_id, flag_id, via)
    SELECT {run}, t.flag_id, MAX(t.via) FROM (
        SELECT r.flag_id AS flag_id, r.via AS via
          FROM run_dependencies d JOIN flag_reach r ON r.run_id = d.producer_run_id
         WHERE d.consumer_run_id = {run}
        UNION ALL
        SELECT f.id, {run} FROM run_inputs i {flags_of("i", read)}
         WHERE i.run_id = {run} AND {is_flagged("i")}
        UNION ALL
        SELECT f.id, {run} FROM run_outputs o {flags_of("o", "o.version")}
         WHERE o.run_id = {run} AND {is_flagged("o")}
    ) AS t GROUP BY t.flag_id
    """


# The runs the active flags touch (reach.touching, for every active flag at once).
TOUCHING = """
    SELECT i.run_id FROM flags f JOIN run_inputs i ON i.pointer_id = f.pointer_id
     WHERE f.unflagged_at IS NULL AND (f.version IS NULL OR f.version = COALESCE(i.version,
           (SELECT w.version FROM run_outputs w
             WHERE w.pointer_id = i.pointer_id AND w.run_id = (SELECT d.producer_run_id
               FROM run_dependencies d WHERE d.consumer_run_id = i.run_id AND d.pointer_id = i.pointer_id))))
    UNION
    SELECT o.run_id FROM flags f JOIN run_outputs o ON o.pointer_id = f.pointer_id
     WHERE f.unflagged_at IS NULL AND (f.version IS NULL OR f.version = o.version)
"""

REACH = f"""
CREATE OR REPLACE FUNCTION mltrace_flag_reach(p_runs bigint[]) RETURNS void
LANGUAGE plpgsql
-- index probes only, whatever the statistics say (queries.INDEX_WALK): flag_reach changes fast, and a
-- plan that hashes a whole table costs a log milliseconds
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
AS $fn$
DECLARE
    ds bigint[];
    v_run bigint;
BEGIN
    -- the runs downstream of p_runs, in (start, id) order: the lineage rule makes it topological
    WITH RECURSIVE down(run_id) AS (
        SELECT unnest(p_runs)
        UNION
        SELECT d.consumer_run_id FROM run_dependencies d JOIN down w ON d.producer_run_id = w.run_id
    )
    SELECT array_agg(r.id ORDER BY r.start_ts, r.id) INTO ds
      FROM down JOIN component_runs r ON r.id = down.run_id;
    IF ds IS NULL THEN
        RETURN;
    END IF;
    DELETE FROM flag_reach WHERE run_id = ANY (ds);
    FOREACH v_run IN ARRAY ds LOOP
        {_run_reach("v_run", "", lateral=True)};
    END LOOP;
END
$fn$;
CREATE OR REPLACE FUNCTION mltrace_flag_reach_logged(p_runs bigint[], p_pointers bigint[]) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    -- shared with other writers, exclusive for flag and unflag: a flag committed meanwhile is seen here
    -- (the probe below starts after the lock) or sees this run (its statements start after this commit)
    PERFORM pg_advisory_xact_lock_shared({GATE});
    IF EXISTS (SELECT 1 FROM pointers WHERE flagged) THEN
        PERFORM pg_advisory_xact_lock({WRITE});  -- writers that maintain rows, one at a time
        PERFORM mltrace_flag_reach(p_runs || ARRAY(
            SELECT DISTINCT i.run_id FROM run_inputs i WHERE i.pointer_id = ANY (p_pointers)));
    END IF;
END
$fn$
"""

# mltrace_flag_reach_logged for one run, inline (no function call where nothing is flagged: every log).
_LOG_CALL = (
    f"    PERFORM pg_advisory_xact_lock_shared({GATE});\n"
    "    IF EXISTS (SELECT 1 FROM pointers WHERE flagged) THEN\n"
    f"        PERFORM pg_advisory_xact_lock({WRITE});\n"
    "        PERFORM mltrace_flag_reach(ARRAY[rid]);\n"
    "    END IF;\n"
)


def _module(filename: str) -> object:
    """A migration of before as that file creates it (its function bodies)."""
    spec = importlib.util.spec_from_file_location(
        f"mltrace_{filename[:4]}", Path(__file__).with_name(filename)
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _replace_once(body: str, old: str, new: str) -> str:
    assert body.count(old) == 1, old
    return body.replace(old, new)


def log_run() -> str:
    """0010's ``mltrace_log_run``, which now keeps the new run's rows (and its relinked consumers')."""
    body = str(_module("0010_component_run_counts.py").LOG_RUN)  # type: ignore[attr-defined]
    return _replace_once(body, "    o_run_id := rid;\n", _LOG_CALL + "    o_run_id := rid;\n")


def ol_write() -> str:
    """0011's ``mltrace_ol_write``: a placeholder ended in place keeps its rows too (a new run's are kept
    by ``mltrace_log_run``)."""
    body = str(_module("0011_openlineage_ingest_functions.py").WRITE)  # type: ignore[attr-defined]
    end = "        END IF;\n    END IF;\n    IF cardinality(p_gone) > 0 THEN"
    inside = textwrap.indent(_LOG_CALL, "    ")
    return _replace_once(
        body, end, "        END IF;\n" + inside + "    END IF;\n    IF cardinality(p_gone) > 0 THEN"
    )


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    op.create_table(
        "flag_reach",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("flag_id", ID, nullable=False),
        sa.Column("via", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["flag_id"], ["flags.id"], name=op.f("fk_flag_reach_flag_id_flags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "flag_id", name=op.f("pk_flag_reach")),
    )
    op.create_index("ix_flag_reach_flag", "flag_reach", ["flag_id"])
    if postgres:
        op.execute(REACH)
        op.execute(log_run())
        op.execute(ol_write())
        op.execute(f"SELECT mltrace_flag_reach(ARRAY({TOUCHING}))")
        return
    cursor = bind.connection.cursor()  # the stores with active flags get their rows (reach.recompute_sqlite)
    seeds = [r for (r,) in cursor.execute(TOUCHING).fetchall()]
    down = cursor.execute(
        "WITH RECURSIVE down(run_id) AS (SELECT value FROM json_each(?1) UNION SELECT d.consumer_run_id"
        " FROM run_dependencies d JOIN down w ON d.producer_run_id = w.run_id)"
        " SELECT r.id FROM down JOIN component_runs r ON r.id = down.run_id ORDER BY r.start_ts, r.id",
        (json.dumps(seeds),),
    ).fetchall()
    cursor.executemany(_run_reach("?1", " = 1", lateral=False), down)
    cursor.close()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(str(_module("0010_component_run_counts.py").LOG_RUN))  # type: ignore[attr-defined]
        op.execute(str(_module("0011_openlineage_ingest_functions.py").WRITE))  # type: ignore[attr-defined]
        op.execute("DROP FUNCTION mltrace_flag_reach_logged(bigint[], bigint[])")
        op.execute("DROP FUNCTION mltrace_flag_reach(bigint[])")
    op.drop_index("ix_flag_reach_flag", table_name="flag_reach")
    op.drop_table("flag_reach")
