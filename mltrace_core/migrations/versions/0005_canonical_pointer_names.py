"""One pointer per file: every pointer name in its canonical form

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

Until now a file was a different pointer for each spelling: ``file:///data/x.csv`` (an Airflow Asset),
``/data/x.csv`` (a path), so a run that wrote one and a run that read the other were not linked. From
this revision every entry point names a pointer by :func:`mltrace_core.naming.canonical`; this migration
brings existing pointers to that form:

- a pointer whose name is not canonical and whose canonical name is free is renamed (lineage unchanged);
- pointers whose names share one canonical form are merged into one (the one already canonical, else the
  oldest): their reads and writes are moved onto it (a run that named both keeps one row, with a version
  if either had one), it is flagged if any of them was, and the lineage edges through it are recomputed
  from scratch by the lineage rule (the rule of ``write.py``, written out here as this revision knows it),
  so old runs and new ones link.

Only names that can change are read (absolute paths, ``file:`` and ``scheme://`` names): stores of
relative names cost one indexed scan. Not reversible: a downgrade keeps the canonical names (the previous
revision reads them as ordinary names).
"""

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

from mltrace_core.naming import canonical

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ELIGIBLE = (
    "o.end_ts <= i.start_ts AND o.run_id <> i.run_id "
    "AND (o.end_ts < i.start_ts OR o.start_ts < i.start_ts OR o.run_id < i.run_id)"
)
_LINK_READERS = f"""
    INSERT INTO run_dependencies (consumer_run_id, pointer_id, producer_run_id)
    SELECT consumer, pointer_id, producer FROM (
        SELECT i.run_id AS consumer, i.pointer_id AS pointer_id, COALESCE(
            (SELECT o.run_id FROM run_outputs o
              WHERE o.pointer_id = i.pointer_id AND o.version = i.version AND {_ELIGIBLE}
              ORDER BY o.end_ts DESC, o.run_id DESC LIMIT 1),
            (SELECT o.run_id FROM run_outputs o
              WHERE o.pointer_id = i.pointer_id AND (i.version IS NULL OR o.version IS NULL) AND {_ELIGIBLE}
              ORDER BY o.end_ts DESC, o.run_id DESC LIMIT 1)
        ) AS producer
        FROM run_inputs i WHERE i.pointer_id = :pid
    ) AS linked
    WHERE producer IS NOT NULL
"""


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, name FROM pointers WHERE name LIKE '/%' OR name LIKE '%://%' "
            "OR lower(substr(name, 1, 5)) = 'file:' ORDER BY id"
        )
    ).all()
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for pid, name in rows:
        groups[canonical(name)].append((pid, name))
    for name, members in groups.items():
        if len(members) == 1 and members[0][1] == name:
            continue
        survivor = next((pid for pid, n in members if n == name), members[0][0])
        merged = [pid for pid, _ in members if pid != survivor]
        for pid in merged:
            _merge(conn, pid, survivor)
        conn.execute(
            sa.text("UPDATE pointers SET name = :name WHERE id = :id"), {"name": name, "id": survivor}
        )
        if merged:
            conn.execute(sa.text("DELETE FROM run_dependencies WHERE pointer_id = :pid"), {"pid": survivor})
            conn.execute(sa.text(_LINK_READERS), {"pid": survivor})


def _merge(conn: sa.Connection, pid: int, into: int) -> None:
    """Move pointer ``pid``'s reads, writes, flag and type onto pointer ``into``, then delete it."""
    ids = {"pid": pid, "into": into}
    for table in ("run_inputs", "run_outputs"):
        # A run that named both keeps the surviving row, taking the other's version if it had none.
        conn.execute(
            sa.text(
                f"UPDATE {table} SET version = (SELECT m.version FROM {table} m "
                f"WHERE m.run_id = {table}.run_id AND m.pointer_id = :pid) "
                f"WHERE pointer_id = :into AND version IS NULL AND run_id IN "
                f"(SELECT run_id FROM {table} WHERE pointer_id = :pid)"
            ),
            ids,
        )
        conn.execute(
            sa.text(
                f"DELETE FROM {table} WHERE pointer_id = :pid AND run_id IN "
                f"(SELECT run_id FROM {table} WHERE pointer_id = :into)"
            ),
            ids,
        )
        conn.execute(sa.text(f"UPDATE {table} SET pointer_id = :into WHERE pointer_id = :pid"), ids)
    conn.execute(sa.text("DELETE FROM run_dependencies WHERE pointer_id = :pid"), ids)
    conn.execute(
        sa.text(
            "UPDATE pointers SET "
            "flagged = (flagged OR (SELECT p.flagged FROM pointers p WHERE p.id = :pid)), "
            "type = COALESCE(type, (SELECT p.type FROM pointers p WHERE p.id = :pid)) "
            "WHERE id = :into"
        ),
        ids,
    )
    conn.execute(sa.text("DELETE FROM pointers WHERE id = :pid"), ids)


def downgrade() -> None:
    pass  # the names stay canonical: revision 0004 reads them as ordinary names
