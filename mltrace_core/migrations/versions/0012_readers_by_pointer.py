"""Index lineage edges by pointer and producer

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30

``versions`` of a pointer counts, for each write, the runs whose edge for that pointer leads to the
writer. Listing all the writes, one probe per write into the (producer, pointer) index cost as much as
the rest of the statement together (10,000 writes: 30,000 buffers, ~10 ms on PostgreSQL); with the edges
also indexed by (pointer, producer), the whole list counts its readers in one range scan of the pointer's
edges, grouped by producer. Pages keep the probes (a page costs its rows, not the pointer's history).
The price is one more index entry per edge written (within the log bench's noise on PostgreSQL; figures
in docs/performance.md). PostgreSQL only: SQLite has no hash join, so the grouped form is a temporary
index probed per write, slower there than the probes it would replace; the index would only cost its
writes.
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_run_dependencies_pointer_producer", "run_dependencies", ["pointer_id", "producer_run_id"]
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_run_dependencies_pointer_producer", table_name="run_dependencies")
