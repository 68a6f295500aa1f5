"""Ingesting an OpenLineage event in two round trips on PostgreSQL

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

Two server-side functions for :mod:`mltrace_core.openlineage.ingest`, so one event costs two statements
(plus BEGIN and COMMIT) instead of about twelve:

- ``mltrace_ol_read(space, locks, ids, keys)``: takes the runs' advisory locks (in order), then returns
  what earlier deliveries left pending (``openlineage_runs``: the runs and the query runs waiting for
  them) and the runs already written with these OpenLineage run ids or keys. Each statement of a
  PL/pgSQL function sees what was committed before it began, so the reads see the work of whoever held
  the lock before (one statement of plain SQL would read with its snapshot of before the lock).
- ``mltrace_ol_write(<mltrace_log_run's arguments>, gone, pending, parents, states, now)``: writes one
  merged run and the pending state: a new key through ``mltrace_log_run`` (0008, 0010); a ``running``
  placeholder without pointers yet (a START's) merged as ``write.merge_run`` merges it -- the common
  COMPLETE -- in place; anything else returns NULL having written nothing of the run, and the caller
  takes the general path (``write.merge_run``) in the same transaction.

SQLite: nothing to create (it runs in-process).
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

READ = """
CREATE OR REPLACE FUNCTION mltrace_ol_read(p_space integer, p_locks integer[], p_ids text[], p_keys text[])
RETURNS TABLE (f_kind integer, f_a text, f_b text, f_c text, f_t1 timestamptz, f_t2 timestamptz, f_d text)
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_advisory_xact_lock(p_space, k) FROM (SELECT DISTINCT unnest(p_locks) AS k ORDER BY 1) s;
    RETURN QUERY
        SELECT 0, o.run_uuid::text, o.parent_uuid::text, o.state, NULL::timestamptz, NULL::timestamptz,
               NULL::text
          FROM openlineage_runs o
         WHERE o.run_uuid = ANY (p_ids) OR o.parent_uuid = ANY (p_ids);
    RETURN QUERY
        SELECT 1, r.ext_ol_run_id::text, r.key::text, r.status::text, r.start_ts, r.end_ts, m.name::text
          FROM component_runs r JOIN components m ON m.id = r.component_id
         WHERE r.ext_ol_run_id = ANY (p_ids) OR r.key = ANY (p_keys);
END
$fn$
"""

# W (alias o) may be upstream of the run (rid) starting at v_start: write._ELIGIBLE, verbatim.
_ELIGIBLE = (
    "o.end_ts <= v_start AND o.run_id <> rid "
    "AND (o.end_ts < v_start OR o.start_ts < v_start OR o.run_id < rid)"
)

# A column of the placeholder takes the report's value when the report of its end describes it (ends_now)
# or it was empty: write.merge_run's rule for the descriptive columns.
_TEXT = (
    "notes code_version error ext_dag_id ext_run_id ext_task_id ext_url ext_ol_run_id ext_ol_namespace "
    "ext_ol_parent_run_id git_hash code_snapshot"
).split()
_OTHER = "ext_try_number ext_map_index staleness_threshold".split()
_FILL = ",\n".join(
    [
        f"{c} = CASE WHEN coalesce(p_{c}, '') <> '' AND (ends_now OR coalesce({c}, '') = '') "
        f"THEN p_{c} ELSE {c} END"
        for c in _TEXT
    ]
    + [
        f"{c} = CASE WHEN p_{c} IS NOT NULL AND (ends_now OR {c} IS NULL) THEN p_{c} ELSE {c} END"
        for c in _OTHER
    ]
    + [
        "git_tags = CASE WHEN p_git_tags IS NOT NULL AND p_git_tags::text <> 'null' "
        "AND (ends_now OR git_tags IS NULL OR git_tags::text = 'null') THEN p_git_tags ELSE git_tags END"
    ]
)

WRITE = f"""
CREATE OR REPLACE FUNCTION mltrace_ol_write(
    p_key text, p_component text, p_tags text[], p_start timestamptz, p_end timestamptz,
    p_status text, p_notes text, p_code_version text, p_error text,
    p_ext_dag_id text, p_ext_run_id text, p_ext_task_id text, p_ext_try_number integer,
    p_ext_map_index integer, p_ext_url text, p_ext_ol_run_id text, p_ext_ol_namespace text,
    p_ext_ol_parent_run_id text, p_git_hash text, p_git_tags json, p_code_snapshot text,
    p_staleness_threshold bigint, p_names text[], p_types text[],
    p_in text[], p_in_v text[], p_out text[], p_out_v text[],
    p_gone text[], p_pending text[], p_parents text[], p_states text[], p_now timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    rid bigint;
    cur record;
    ends_now boolean;
    v_start timestamptz;
    v_end timestamptz;
    v_status text;
BEGIN
    SELECT o_run_id INTO rid FROM mltrace_log_run(p_key, p_component, p_tags, p_start, p_end, p_status,
        p_notes, p_code_version, p_error, p_ext_dag_id, p_ext_run_id, p_ext_task_id, p_ext_try_number,
        p_ext_map_index, p_ext_url, p_ext_ol_run_id, p_ext_ol_namespace, p_ext_ol_parent_run_id, p_git_hash,
        p_git_tags, p_code_snapshot, p_staleness_threshold, p_names, p_types, p_in, p_in_v, p_out, p_out_v);
    IF rid IS NULL THEN
        -- Another report of a run already written. In place only for a placeholder (running, no pointers
        -- yet); else the caller merges it by the general path.
        SELECT id, status, start_ts, end_ts INTO cur FROM component_runs WHERE key = p_key FOR UPDATE;
        IF cur.status <> 'running' OR EXISTS (SELECT 1 FROM run_inputs WHERE run_id = cur.id)
           OR EXISTS (SELECT 1 FROM run_outputs WHERE run_id = cur.id) THEN
            RETURN NULL;
        END IF;
        rid := cur.id;
        ends_now := p_status <> 'running';
        v_start := least(cur.start_ts, p_start);
        IF ends_now THEN
            v_status := p_status;
            v_end := greatest(p_end, v_start);
        ELSE
            v_status := cur.status;
            v_end := greatest(cur.end_ts, p_end);
        END IF;
        UPDATE component_runs SET status = v_status, start_ts = v_start, end_ts = v_end,
{_FILL}
         WHERE id = rid;
        IF cardinality(p_in) > 0 THEN
            INSERT INTO run_inputs (run_id, pointer_id, version, start_ts)
                SELECT rid, p.id, v.ver, v_start FROM unnest(p_in, p_in_v) AS v(name, ver)
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
        IF cardinality(p_out) > 0 AND v_status NOT IN ('failed', 'aborted') THEN
            INSERT INTO run_outputs (run_id, pointer_id, version, start_ts, end_ts)
                SELECT rid, p.id, v.ver, v_start, v_end FROM unnest(p_out, p_out_v) AS v(name, ver)
                JOIN pointers p ON p.name = v.name;
            -- write._relink_consumers in one statement, as in mltrace_log_run (0008).
            INSERT INTO run_dependencies (consumer_run_id, pointer_id, producer_run_id)
            SELECT i.run_id, i.pointer_id, rid
            FROM run_outputs o
            JOIN run_inputs i ON i.pointer_id = o.pointer_id AND i.start_ts >= o.end_ts AND i.run_id <> o.run_id
            LEFT JOIN run_dependencies cd ON cd.consumer_run_id = i.run_id AND cd.pointer_id = i.pointer_id
            LEFT JOIN run_outputs co ON co.run_id = cd.producer_run_id AND co.pointer_id = cd.pointer_id
            WHERE o.run_id = rid
              AND (v_end < i.start_ts OR v_start < i.start_ts OR rid < i.run_id)
              AND (i.version IS NULL OR o.version IS NULL OR o.version = i.version)
              AND (cd.producer_run_id IS NULL OR
                   (i.version IS NOT NULL AND co.version IS NOT DISTINCT FROM i.version, co.end_ts,
                    cd.producer_run_id)
                   < (i.version IS NOT NULL AND o.version IS NOT DISTINCT FROM i.version, v_end, rid))
            ON CONFLICT (consumer_run_id, pointer_id) DO UPDATE SET producer_run_id = excluded.producer_run_id;
        END IF;
    END IF;
    IF cardinality(p_gone) > 0 THEN
        DELETE FROM openlineage_runs WHERE run_uuid = ANY (p_gone);
    END IF;
    IF cardinality(p_pending) > 0 THEN
        INSERT INTO openlineage_runs (run_uuid, parent_uuid, state, updated_at)
            SELECT u, p, s, p_now FROM unnest(p_pending, p_parents, p_states) AS x(u, p, s)
        ON CONFLICT (run_uuid) DO UPDATE
            SET state = excluded.state, parent_uuid = excluded.parent_uuid, updated_at = excluded.updated_at;
    END IF;
    RETURN rid;
END
$fn$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(READ)
        op.execute(WRITE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS mltrace_ol_write")
        op.execute("DROP FUNCTION IF EXISTS mltrace_ol_read")
