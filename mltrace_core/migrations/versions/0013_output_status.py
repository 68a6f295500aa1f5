"""Each output carries its run's status, kept by the database

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

``versions`` lists every write of a pointer with its run's status: one probe of the runs' primary key
per write (10,000 writes: 40,000 buffers on PostgreSQL, about half of the statement once its readers
were counted in one scan, schema 0012). ``run_outputs.status`` is now a copy of the writer's
``component_runs.status``, so the listing reads it with the write. Triggers keep it, as the run counts
of 0010 are kept, so that every way a run is written (``Store.log`` on either backend and its
server-side function, ``log_many``, the OpenLineage ingest functions of 0011, the general path, bulk
loads) stays exact without knowing of it: an output written takes its run's status; a run's status
changed (a ``running`` placeholder that ends, by a report or by the OpenLineage ingest's UPDATE) is
copied to its outputs. A run's outputs never move to another run. PostgreSQL fills the copy before the
row is written; SQLite, whose BEFORE triggers cannot set a column, right after it (in the same
statement). Existing stores are filled once here.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

PG = """
CREATE FUNCTION mltrace_output_takes_run_status() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    NEW.status := (SELECT status FROM component_runs WHERE id = NEW.run_id);
    RETURN NEW;
END $fn$;
CREATE TRIGGER mltrace_output_status BEFORE INSERT ON run_outputs
    FOR EACH ROW EXECUTE FUNCTION mltrace_output_takes_run_status();
CREATE FUNCTION mltrace_run_status_to_outputs() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE run_outputs SET status = NEW.status WHERE run_id = NEW.id;
    RETURN NULL;
END $fn$;
CREATE TRIGGER mltrace_run_status AFTER UPDATE OF status ON component_runs
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION mltrace_run_status_to_outputs();
"""

SQLITE = [
    """CREATE TRIGGER mltrace_output_status AFTER INSERT ON run_outputs BEGIN
    UPDATE run_outputs SET status = (SELECT status FROM component_runs WHERE id = NEW.run_id)
    WHERE run_id = NEW.run_id AND pointer_id = NEW.pointer_id;
END""",
    """CREATE TRIGGER mltrace_run_status AFTER UPDATE OF status ON component_runs
    WHEN OLD.status IS NOT NEW.status BEGIN
    UPDATE run_outputs SET status = NEW.status WHERE run_id = NEW.id;
END""",
]


def upgrade() -> None:
    op.add_column("run_outputs", sa.Column("status", sa.String(16), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE run_outputs o SET status = r.status FROM component_runs r WHERE r.id = o.run_id")
        op.execute(PG)
    else:
        op.execute(
            "UPDATE run_outputs SET status = "
            "(SELECT status FROM component_runs r WHERE r.id = run_outputs.run_id)"
        )
        for statement in SQLITE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER mltrace_run_status ON component_runs")
        op.execute("DROP TRIGGER mltrace_output_status ON run_outputs")
        op.execute("DROP FUNCTION mltrace_run_status_to_outputs(), mltrace_output_takes_run_status()")
    else:
        op.execute("DROP TRIGGER mltrace_run_status")
        op.execute("DROP TRIGGER mltrace_output_status")
    with op.batch_alter_table("run_outputs") as batch:
        batch.drop_column("status")
