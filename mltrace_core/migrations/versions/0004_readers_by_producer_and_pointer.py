"""Index lineage edges by producer and pointer

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

`versions` lists every write of a pointer with how many runs read it: one probe per write for the edges
(producer = the writer, pointer = the one listed). The old index on the producer alone served the
downstream walks; this one serves them too (its first column), so it replaces the old one and logging
maintains no extra index.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_run_dependencies_producer_pointer", "run_dependencies", ["producer_run_id", "pointer_id"]
    )
    op.drop_index("ix_run_dependencies_producer_run_id", table_name="run_dependencies")


def downgrade() -> None:
    op.create_index("ix_run_dependencies_producer_run_id", "run_dependencies", ["producer_run_id"])
    op.drop_index("ix_run_dependencies_producer_pointer", table_name="run_dependencies")
