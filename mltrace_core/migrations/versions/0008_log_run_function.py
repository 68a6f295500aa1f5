"""Logging a run in one round trip on PostgreSQL

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

``mltrace_log_run(...)``: the whole write of a new run -- component and tags, pointers created and
locked in name order, the run row, its inputs and outputs, its lineage (the rule of ``write.py``, the
late-arrival relink included) -- as one server-side function, so ``Store.log`` is one round trip,
committed on return. Its plans are prepared once per connection. A run whose key is already there
(another report of it) returns NULL and is merged by ``write.merge_run`` instead. SQLite: nothing to
create (it runs in-process; see ``mltrace_core/fastlog.py``).
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# W (alias o) may be upstream of the new run -- write._ELIGIBLE, verbatim, for the function's variables.
_ELIGIBLE = (
    "o.end_ts <= p_start AND o.run_id <> rid "
    "AND (o.end_ts < p_start OR o.start_ts < p_start OR o.run_id < rid)"
)

LOG_RUN = f"""
CREATE OR REPLACE FUNCTION mltrace_log_run(
    p_key text, p_component text, p_tags text[], p_start timestamptz, p_end timestamptz,
    p_status text, p_notes text, p_code_version text, p_error text,
    p_ext_dag_id text, p_ext_run_id text, p_ext_task_id text, p_ext_try_number integer,
    p_ext_map_index integer, p_ext_url text, p_ext_ol_run_id text, p_ext_ol_namespace text,
    p_ext_ol_parent_run_id text, p_git_hash text, p_git_tags json, p_code_snapshot text,
    p_staleness_threshold bigint, p_names text[], p_types text[],
    p_in text[], p_in_v text[], p_out text[], p_out_v text[]) RETURNS bigint
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
        RETURN NULL;  -- another report of a run already written: the caller merges it
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
    RETURN rid;
END
$fn$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(LOG_RUN)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS mltrace_log_run")
