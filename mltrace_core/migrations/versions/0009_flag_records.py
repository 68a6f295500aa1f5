"""Flags with context: who flagged what (a pointer or one version of it), when, why, and when it ended

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

A flag was one boolean on the pointer. Now each flag is a record in ``flags`` (pointer, version or NULL
for the whole pointer, reason, by, at, unflagged_at); unflagging ends records, never deletes them, so the
history stays. ``pointers.flagged`` stays as what it always meant to queries: "has an active flag", kept
by :mod:`mltrace_core.flags` (its partial index finds the few flagged pointers among millions, which is
what the check of a task try's inputs needs).

Every pointer flagged before this revision keeps its flag as one record on the whole pointer, dated at
the upgrade (when it was flagged, by whom and why were never stored).
"""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "flags",
        sa.Column("id", ID, nullable=False),
        sa.Column("pointer_id", ID, nullable=False),
        sa.Column("version", sa.String(256), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("flagged_by", sa.String(256), nullable=True),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unflagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["pointer_id"], ["pointers.id"], name=op.f("fk_flags_pointer_id_pointers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flags")),
    )
    op.create_index("ix_flags_pointer", "flags", ["pointer_id", "flagged_at", "id"])
    op.create_index(
        "ix_flags_active",
        "flags",
        ["pointer_id", "version"],
        sqlite_where=sa.text("unflagged_at IS NULL"),
        postgresql_where=sa.text("unflagged_at IS NULL"),
    )
    # The time of the upgrade, as each backend stores an aware UTC time (SQLite: naive ISO text).
    postgres = op.get_bind().dialect.name == "postgresql"
    now = datetime.now(timezone.utc)
    op.get_bind().execute(
        sa.text(
            "INSERT INTO flags (pointer_id, version, reason, flagged_by, flagged_at, unflagged_at) "
            f"SELECT id, NULL, NULL, NULL, :now, NULL FROM pointers WHERE flagged = {'true' if postgres else '1'}"
        ),
        {"now": now if postgres else now.replace(tzinfo=None).isoformat(sep=" ")},
    )


def downgrade() -> None:
    op.drop_index("ix_flags_active", table_name="flags")
    op.drop_index("ix_flags_pointer", table_name="flags")
    op.drop_table("flags")
