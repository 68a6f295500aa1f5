"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26

The first released schema. Timestamps are UTC; ids are BIGINT (INTEGER, i.e. the rowid, on SQLite).
"""

import sqlalchemy as sa
from alembic import op

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "components",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_components")),
        sa.UniqueConstraint("name", name=op.f("uq_components_name")),
    )
    op.create_index(op.f("ix_components_owner"), "components", ["owner"])

    op.create_table(
        "pointers",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pointers")),
        sa.UniqueConstraint("name", name=op.f("uq_pointers_name")),
    )
    op.create_index(op.f("ix_pointers_flagged"), "pointers", ["flagged"])

    op.create_table(
        "component_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("key", sa.String(length=1200), nullable=False),
        sa.Column("component_id", ID, nullable=False),
        sa.Column("start_ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("code_version", sa.String(length=256), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("ext_dag_id", sa.String(length=250), nullable=True),
        sa.Column("ext_run_id", sa.String(length=250), nullable=True),
        sa.Column("ext_task_id", sa.String(length=250), nullable=True),
        sa.Column("ext_try_number", sa.Integer(), nullable=True),
        sa.Column("ext_map_index", sa.Integer(), nullable=True),
        sa.Column("ext_url", sa.Text(), nullable=True),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["components.id"],
            name=op.f("fk_component_runs_component_id_components"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_component_runs")),
        sa.UniqueConstraint("key", name=op.f("uq_component_runs_key")),
    )
    op.create_index("ix_component_runs_component", "component_runs", ["component_id", "start_ts", "id"])
    op.create_index(
        "ix_component_runs_external",
        "component_runs",
        ["ext_dag_id", "ext_run_id", "ext_task_id", "ext_map_index"],
    )
    op.create_index("ix_component_runs_start", "component_runs", ["start_ts", "id"])

    op.create_table(
        "component_tags",
        sa.Column("component_id", ID, nullable=False),
        sa.Column("tag", sa.String(length=1024), nullable=False),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["components.id"],
            name=op.f("fk_component_tags_component_id_components"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("component_id", "tag", name=op.f("pk_component_tags")),
    )
    op.create_index(op.f("ix_component_tags_tag"), "component_tags", ["tag"])

    op.create_table(
        "run_dependencies",
        sa.Column("consumer_run_id", ID, nullable=False),
        sa.Column("pointer_id", ID, nullable=False),
        sa.Column("producer_run_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["consumer_run_id"],
            ["component_runs.id"],
            name=op.f("fk_run_dependencies_consumer_run_id_component_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pointer_id"],
            ["pointers.id"],
            name=op.f("fk_run_dependencies_pointer_id_pointers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["producer_run_id"],
            ["component_runs.id"],
            name=op.f("fk_run_dependencies_producer_run_id_component_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("consumer_run_id", "pointer_id", name=op.f("pk_run_dependencies")),
    )
    op.create_index(op.f("ix_run_dependencies_producer_run_id"), "run_dependencies", ["producer_run_id"])

    op.create_table(
        "run_inputs",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("pointer_id", ID, nullable=False),
        sa.Column("version", sa.String(length=256), nullable=True),
        sa.Column("start_ts", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pointer_id"],
            ["pointers.id"],
            name=op.f("fk_run_inputs_pointer_id_pointers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["component_runs.id"],
            name=op.f("fk_run_inputs_run_id_component_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "pointer_id", name=op.f("pk_run_inputs")),
    )
    op.create_index("ix_run_inputs_pointer_start", "run_inputs", ["pointer_id", "start_ts"])

    op.create_table(
        "run_outputs",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("pointer_id", ID, nullable=False),
        sa.Column("version", sa.String(length=256), nullable=True),
        sa.Column("start_ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_ts", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pointer_id"],
            ["pointers.id"],
            name=op.f("fk_run_outputs_pointer_id_pointers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["component_runs.id"],
            name=op.f("fk_run_outputs_run_id_component_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "pointer_id", name=op.f("pk_run_outputs")),
    )
    op.create_index("ix_run_outputs_pointer_end", "run_outputs", ["pointer_id", "end_ts", "run_id"])
    op.create_index("ix_run_outputs_pointer_version", "run_outputs", ["pointer_id", "version", "end_ts"])


def downgrade() -> None:
    op.drop_index("ix_run_outputs_pointer_version", table_name="run_outputs")
    op.drop_index("ix_run_outputs_pointer_end", table_name="run_outputs")

    op.drop_table("run_outputs")
    op.drop_index("ix_run_inputs_pointer_start", table_name="run_inputs")

    op.drop_table("run_inputs")
    op.drop_index(op.f("ix_run_dependencies_producer_run_id"), table_name="run_dependencies")

    op.drop_table("run_dependencies")
    op.drop_index(op.f("ix_component_tags_tag"), table_name="component_tags")

    op.drop_table("component_tags")
    op.drop_index("ix_component_runs_start", table_name="component_runs")
    op.drop_index("ix_component_runs_external", table_name="component_runs")
    op.drop_index("ix_component_runs_component", table_name="component_runs")

    op.drop_table("component_runs")
    op.drop_index(op.f("ix_pointers_flagged"), table_name="pointers")

    op.drop_table("pointers")
    op.drop_index(op.f("ix_components_owner"), table_name="components")

    op.drop_table("components")
