"""Index flagged pointers by name, and only them

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

`review` and the UI look up the (few) flagged pointers among (very many) pointers. A b-tree on the
boolean itself was useless to SQLite's planner (a full scan at 100,000 runs); a partial index holding
only the flagged rows answers in microseconds on both backends.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_pointers_flagged", table_name="pointers")
    op.create_index(
        "ix_pointers_flagged_name",
        "pointers",
        ["name"],
        sqlite_where=sa.text("flagged = 1"),
        postgresql_where=sa.text("flagged"),
    )


def downgrade() -> None:
    op.drop_index("ix_pointers_flagged_name", table_name="pointers")
    op.create_index("ix_pointers_flagged", "pointers", ["flagged"])
