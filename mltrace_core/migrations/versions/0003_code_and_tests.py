"""What mltrace 0.17 kept with a run: git commit, git tags, code snapshot, test results, staleness threshold

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Code written for mltrace 0.17 logs these (issue 10): ``register`` and ``Component.run`` record the git
commit and its tags and the decorated function's source; a Component's before/after tests record one row
per test method (pass/fail and message); ``staleness_threshold`` is per run. All new columns are nullable
and the new table starts empty, so existing runs are untouched. A partial index over versioned outputs
answers "which run wrote this value" (0.17's ``auto_log`` follows values whatever their names).
"""

import sqlalchemy as sa
from alembic import op

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("component_runs") as batch:
        batch.add_column(sa.Column("git_hash", sa.String(length=256), nullable=True))
        batch.add_column(sa.Column("git_tags", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("code_snapshot", sa.Text(), nullable=True))
        batch.add_column(sa.Column("staleness_threshold", sa.BigInteger(), nullable=True))
    op.create_table(
        "run_tests",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["component_runs.id"],
            name=op.f("fk_run_tests_run_id_component_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "position", name=op.f("pk_run_tests")),
    )
    op.create_index(
        "ix_run_outputs_version",
        "run_outputs",
        ["version"],
        sqlite_where=sa.text("version IS NOT NULL"),
        postgresql_where=sa.text("version IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_run_outputs_version", table_name="run_outputs")
    op.drop_table("run_tests")
    with op.batch_alter_table("component_runs") as batch:
        batch.drop_column("staleness_threshold")
        batch.drop_column("code_snapshot")
        batch.drop_column("git_tags")
        batch.drop_column("git_hash")
