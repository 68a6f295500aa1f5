"""A run's OpenLineage identity: its run id there, its job's namespace, its parent run's id

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

One run id across systems (issue 12): every Airflow try records the OpenLineage run id the provider gives
it (a deterministic UUID, see ``mltrace_core/olids.py``), with the id of its DAG run (the provider's parent
run) and the namespace both were made in; a run ingested from OpenLineage keeps its own. The run id is
indexed: a catalogue's run is looked up in mltrace by it, and so is the parent a child run folds into.
All three are nullable and existing runs keep none (the logical date the rule needs was not recorded):
exports give those runs a stable id derived from their key (``olids.run_id_of_key``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("component_runs") as batch:
        batch.add_column(sa.Column("ext_ol_run_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("ext_ol_namespace", sa.String(length=1024), nullable=True))
        batch.add_column(sa.Column("ext_ol_parent_run_id", sa.String(length=36), nullable=True))
    op.create_index("ix_component_runs_ol_run_id", "component_runs", ["ext_ol_run_id"])


def downgrade() -> None:
    op.drop_index("ix_component_runs_ol_run_id", table_name="component_runs")
    with op.batch_alter_table("component_runs") as batch:
        batch.drop_column("ext_ol_parent_run_id")
        batch.drop_column("ext_ol_namespace")
        batch.drop_column("ext_ol_run_id")
