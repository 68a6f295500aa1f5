"""OpenLineage runs waiting for their end

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

``openlineage_runs`` holds the merged state of OpenLineage runs that have not ended (shown meanwhile as
``running`` placeholders), and of SQL query runs waiting for their task's run to be written
(``parent_uuid``, indexed: a task that ends picks up its queries). A row goes when its run is written.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "openlineage_runs",
        sa.Column("run_uuid", sa.String(64), nullable=False),
        sa.Column("parent_uuid", sa.String(64), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("run_uuid", name=op.f("pk_openlineage_runs")),
    )
    op.create_index("ix_openlineage_runs_parent_uuid", "openlineage_runs", ["parent_uuid"])


def downgrade() -> None:
    op.drop_index("ix_openlineage_runs_parent_uuid", table_name="openlineage_runs")
    op.drop_table("openlineage_runs")
