"""Each component's number of runs kept with it; the staleness of a run logged through 0.17's API
returned by the one-round-trip log

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

``components.run_count``: the listings of components showed each one's number of runs by counting its
runs (81 ms at 1,000,000 runs). The count is now kept by the database itself, by triggers on
``component_runs`` (insert adds, delete subtracts), so every way a run is written -- ``Store.log`` on
either backend, ``Store.log_many`` and the ingestion that uses it, the general path, bulk loads -- keeps it
exact without knowing of it: a key logged again inserts nothing (``ON CONFLICT DO NOTHING`` fires no row
trigger), and a writer killed before its commit leaves no count behind. PostgreSQL counts per statement
(one update per component per statement, from the transition table, the components locked in id order so
concurrent batches never deadlock); SQLite per row (its writers are serialised anyway). Existing stores
are counted once here.

``mltrace_log_run`` (schema 0008) also returns, for a run that carries a staleness threshold (logged
through mltrace 0.17's API), what 0.17's staleness rules judge -- its upstream runs, their components,
how long before it they started, and their components' fresher runs -- so the warning 0.17 gave when such
a run was logged needs no second read (``mltrace_core/staleness.py``). The function now has two OUT
parameters (run id, upstream), so it is dropped and created again; the lineage it writes is unchanged.
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# W (alias o) may be upstream of the new run -- write._ELIGIBLE, verbatim, for the function's variables.
_ELIGIBLE = (
    "o.end_ts <= p_start AND o.run_id <> rid "
    "AND (o.end_ts < p_start OR o.start_ts < p_start OR o.run_id < rid)"
)
_OLD_SIGNATURE = (
    "mltrace_log_run(text, text, text[], timestamptz, timestamptz, text, text, text, text, text, text, text,"
    " integer, integer, text, text, text, text, text, json, text, bigint, text[], text[], text[], text[],"
    " text[], text[])"
)

LOG_RUN = f"""
CREATE OR REPLACE FUNCTION mltrace_log_run(
    p_key text, p_component text, p_tags text[], p_start timestamptz, p_end timestamptz,
    p_status text, p_notes text, p_code_version text, p_error text,
    p_ext_dag_id text, p_ext_run_id text, p_ext_task_id text, p_ext_try_number integer,
    p_ext_map_index integer, p_ext_url text, p_ext_ol_run_id text, p_ext_ol_namespace text,
    p_ext_ol_parent_run_id text, p_git_hash text, p_git_tags json, p_code_snapshot text,
    p_staleness_threshold bigint, p_names text[], p_types text[],
    p_in text[], p_in_v text[], p_out text[], p_out_v text[],
    OUT o_run_id bigint, OUT o_upstream json)
LANGUAGE plpgsql AS $fn$
DECLARE
    cid bigint;
    rid bigint;
BEGIN
    SELECT id INTO cid FROM components WHERE name = p_component;
    IF cid IS NULL THEN
        INSERT INTO components (name, description, owner, created_at)
            VALUES (p_component, '', '', now()) ON CONFLICT (name) DO NOTHING;
        SELECT id INTO cid FROM components WHERE name = p_component;
    END IF;
    IF cardinality(p_tags) > 0 THEN
        INSERT INTO component_tags (component_id, tag)
            SELECT cid, t FROM unnest(p_tags) AS t ORDER BY t ON CONFLICT DO NOTHING;
    END IF;
    IF cardinality(p_names) > 0 THEN
        INSERT INTO pointers (name, type, flagged, created_at)
            SELECT n, t, false, now() FROM unnest(p_names, p_types) AS x(n, t) ON CONFLICT (name) DO NOTHING;
        PERFORM 1 FROM pointers WHERE name = ANY (p_names) ORDER BY name FOR UPDATE;
    END IF;
    INSERT INTO component_runs (key, component_id, start_ts, end_ts, status, notes, code_version, error,
        ext_dag_id, ext_run_id, ext_task_id, ext_try_number, ext_map_index, ext_url, ext_ol_run_id,
        ext_ol_namespace, ext_ol_parent_run_id, git_hash, git_tags, code_snapshot, staleness_threshold,
        logged_at)
    VALUES (p_key, cid, p_start, p_end, p_status, p_notes, p_code_version, p_error,
        p_ext_dag_id, p_ext_run_id, p_ext_task_id, p_ext_try_number, p_ext_map_index, p_ext_url,
        p_ext_ol_run_id, p_ext_ol_namespace, p_ext_ol_parent_run_id, p_git_hash, p_git_tags,
        p_code_snapshot, p_staleness_threshold, now())
    ON CONFLICT (key) DO NOTHING RETURNING id INTO rid;
    IF rid IS NULL THEN
        RETURN;  -- another report of a run already written (o_run_id NULL): the caller merges it
    END IF;
    IF cardinality(p_in) > 0 THEN
        INSERT INTO run_inputs (run_id, pointer_id, version, start_ts)
            SELECT rid, p.id, v.ver, p_start FROM unnest(p_in, p_in_v) AS v(name, ver)
            JOIN pointers p ON p.name = v.name;
        INSERT INTO run_dependencies (consumer_run_id, pointer_id, producer_run_id)
        SELECT consumer, pointer_id, producer FROM (
            SELECT i.run_id AS consumer, i.pointer_id AS pointer_id, COALESCE(
                (SELECT o.run_id FROM run_outputs o
                  WHERE o.pointer_id = i.pointer_id AND o.version = i.version AND {_ELIGIBLE}
                  ORDER BY o.end_ts DESC, o.run_id DESC LIMIT 1),
                (SELECT o.run_id FROM run_outputs o
                  WHERE o.pointer_id = i.pointer_id AND (i.version IS NULL OR o.version IS NULL)
                    AND {_ELIGIBLE}
                  ORDER BY o.end_ts DESC, o.run_id DESC LIMIT 1)
            ) AS producer
            FROM run_inputs i WHERE i.run_id = rid
        ) AS linked
        WHERE producer IS NOT NULL;
    END IF;
    IF cardinality(p_out) > 0 THEN
        INSERT INTO run_outputs (run_id, pointer_id, version, start_ts, end_ts)
            SELECT rid, p.id, v.ver, p_start, p_end FROM unnest(p_out, p_out_v) AS v(name, ver)
            JOIN pointers p ON p.name = v.name;
        -- A run logged late takes over the consumers that started after it ended, when it ranks higher
        -- (exact version read, then latest end, then log order): write._relink_consumers in one statement.
        INSERT INTO run_dependencies (consumer_run_id, pointer_id, producer_run_id)
        SELECT i.run_id, i.pointer_id, rid
        FROM run_outputs o
        JOIN run_inputs i ON i.pointer_id = o.pointer_id AND i.start_ts >= o.end_ts AND i.run_id <> o.run_id
        LEFT JOIN run_dependencies cd ON cd.consumer_run_id = i.run_id AND cd.pointer_id = i.pointer_id
        LEFT JOIN run_outputs co ON co.run_id = cd.producer_run_id AND co.pointer_id = cd.pointer_id
        WHERE o.run_id = rid
          AND (p_end < i.start_ts OR p_start < i.start_ts OR rid < i.run_id)
          AND (i.version IS NULL OR o.version IS NULL OR o.version = i.version)
          AND (cd.producer_run_id IS NULL OR
               (i.version IS NOT NULL AND co.version IS NOT DISTINCT FROM i.version, co.end_ts,
                cd.producer_run_id)
               < (i.version IS NOT NULL AND o.version IS NOT DISTINCT FROM i.version, p_end, rid))
        ON CONFLICT (consumer_run_id, pointer_id) DO UPDATE SET producer_run_id = excluded.producer_run_id;
    END IF;
    o_run_id := rid;
    IF p_staleness_threshold IS NOT NULL THEN
        -- What mltrace 0.17's staleness rules judge (mltrace_core/staleness.py), for the warning it gave
        -- when such a run was logged: each upstream run, its component, how long before this run it
        -- started, and the runs of its component that started from then to this run's start.
        SELECT json_agg(json_build_array(d.producer_run_id, c.name,
                   extract(epoch FROM p_start - w.start_ts),
                   (SELECT count(*) FROM component_runs x
                     WHERE x.component_id = w.component_id AND x.start_ts >= w.start_ts
                       AND x.start_ts <= p_start AND x.id <> rid))
                 ORDER BY d.producer_run_id)
          INTO o_upstream
          FROM (SELECT DISTINCT producer_run_id FROM run_dependencies WHERE consumer_run_id = rid) d
          JOIN component_runs w ON w.id = d.producer_run_id
          JOIN components c ON c.id = w.component_id;
    END IF;
END
$fn$
"""

PG_COUNTERS = """
CREATE FUNCTION mltrace_count_runs_added() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM 1 FROM components WHERE id IN (SELECT component_id FROM added) ORDER BY id FOR NO KEY UPDATE;
    UPDATE components c SET run_count = c.run_count + a.n
      FROM (SELECT component_id, count(*) AS n FROM added GROUP BY component_id) a
     WHERE c.id = a.component_id;
    RETURN NULL;
END
$fn$;
CREATE FUNCTION mltrace_count_runs_removed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM 1 FROM components WHERE id IN (SELECT component_id FROM removed) ORDER BY id FOR NO KEY UPDATE;
    UPDATE components c SET run_count = c.run_count - r.n
      FROM (SELECT component_id, count(*) AS n FROM removed GROUP BY component_id) r
     WHERE c.id = r.component_id;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER mltrace_runs_added AFTER INSERT ON component_runs
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION mltrace_count_runs_added();
CREATE TRIGGER mltrace_runs_removed AFTER DELETE ON component_runs
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION mltrace_count_runs_removed();
"""

SQLITE_COUNTERS = (
    """CREATE TRIGGER mltrace_runs_added AFTER INSERT ON component_runs BEGIN
    UPDATE components SET run_count = run_count + 1 WHERE id = NEW.component_id;
END""",
    """CREATE TRIGGER mltrace_runs_removed AFTER DELETE ON component_runs BEGIN
    UPDATE components SET run_count = run_count - 1 WHERE id = OLD.component_id;
END""",
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("components", sa.Column("run_count", sa.BigInteger(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE components SET run_count ="
        " (SELECT count(*) FROM component_runs r WHERE r.component_id = components.id)"
    )
    if postgres:
        op.execute(PG_COUNTERS)
        op.execute(f"DROP FUNCTION {_OLD_SIGNATURE}")
        op.execute(LOG_RUN)
    else:
        for statement in SQLITE_COUNTERS:
            op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP TRIGGER mltrace_runs_added ON component_runs")
        op.execute("DROP TRIGGER mltrace_runs_removed ON component_runs")
        op.execute("DROP FUNCTION mltrace_count_runs_added(), mltrace_count_runs_removed()")
        op.execute("DROP FUNCTION mltrace_log_run")
        op.execute(_log_run_0008())
    else:
        op.execute("DROP TRIGGER mltrace_runs_added")
        op.execute("DROP TRIGGER mltrace_runs_removed")
    with op.batch_alter_table("components") as batch:
        batch.drop_column("run_count")


def _log_run_0008() -> str:
    """Schema 0008's function, as that migration creates it (what a downgrade to 0009 needs)."""
    spec = importlib.util.spec_from_file_location(
        "mltrace_0008", Path(__file__).with_name("0008_log_run_function.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.LOG_RUN)
