"""The one-round-trip log writes its run count and its outputs' status itself

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30

The counts of 0010 and the output status of 0013 are kept by triggers, so that every way a run is
written stays exact without knowing of them. For the one write every traced try and every logged run
makes -- ``mltrace_log_run``, one new run -- they were a fifth of the database's side of the log on
PostgreSQL: the statement trigger that counts (a transition table and two queries for one row) about
45 microseconds, the row trigger that copies the status into each output 5 more per output. That write
knows both already, so it now writes them itself:

- ``mltrace_log_run`` inserts each output with the run's status; the status trigger fires only for an
  output inserted without one (``WHEN (NEW.status IS NULL)``, on both backends: SQLite's fast log,
  ``mltrace_core/fastlog.py``, also writes the status itself).
- ``mltrace_log_run`` adds the run to its component's count (one ``UPDATE`` of the row it already
  found) and, around its insert of the run, sets the transaction-local setting ``mltrace.run_counted``,
  for which the counting trigger does not fire. The setting is set back right after the insert (and,
  like every local setting, undone with the transaction or the subtransaction that set it), so every
  other insert -- ``log_many``, the general path, the OpenLineage ingest's own inserts -- is counted by
  the trigger as before.

SQLite's counting trigger is a row trigger (one ``UPDATE``, cheaper than the statement the fast log
would send instead) and stays.
"""

import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

COUNTED = "mltrace.run_counted"  # the transaction-local setting: the run being inserted counts itself


def _pg_triggers(status_when: str, counted_when: str) -> str:
    """The two triggers of 0013 and 0010 created again, each with its ``WHEN`` clause (none: as before)."""
    return f"""
DROP TRIGGER mltrace_output_status ON run_outputs;
CREATE TRIGGER mltrace_output_status BEFORE INSERT ON run_outputs
    FOR EACH ROW{status_when} EXECUTE FUNCTION mltrace_output_takes_run_status();
DROP TRIGGER mltrace_runs_added ON component_runs;
CREATE TRIGGER mltrace_runs_added AFTER INSERT ON component_runs
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT{counted_when}
    EXECUTE FUNCTION mltrace_count_runs_added();
"""


PG_TRIGGERS = _pg_triggers(
    " WHEN (NEW.status IS NULL)", f" WHEN (current_setting('{COUNTED}', true) IS DISTINCT FROM 'on')"
)
PG_TRIGGERS_BEFORE = _pg_triggers("", "")


def _sqlite_status_before() -> str:
    """0013's SQLite status trigger, as that file creates it."""
    return str(runpy.run_path(str(Path(__file__).with_name("0013_output_status.py")))["SQLITE"][0])


def _sqlite_status() -> str:
    head = "CREATE TRIGGER mltrace_output_status AFTER INSERT ON run_outputs BEGIN"
    before = _sqlite_status_before()
    assert before.count(head) == 1, head
    return before.replace(head, head.replace(" BEGIN", " WHEN NEW.status IS NULL BEGIN"))


def _earlier() -> dict[str, Any]:
    """Migration 0014 as that file defines it: its ``mltrace_log_run`` and its helpers."""
    return runpy.run_path(str(Path(__file__).with_name("0014_flag_reach.py")))


def _log_run_before() -> str:
    return str(_earlier()["log_run"]())


def log_run() -> str:
    """0014's ``mltrace_log_run``, which now counts its run and gives its outputs their status."""
    earlier = _earlier()
    _replace_once: Callable[[str, str, str], str] = earlier["_replace_once"]
    body = str(earlier["log_run"]())
    body = _replace_once(
        body,
        "    INSERT INTO component_runs (",
        f"    PERFORM set_config('{COUNTED}', 'on', true);\n    INSERT INTO component_runs (",
    )
    body = _replace_once(
        body,
        "    ON CONFLICT (key) DO NOTHING RETURNING id INTO rid;\n",
        "    ON CONFLICT (key) DO NOTHING RETURNING id INTO rid;\n"
        f"    PERFORM set_config('{COUNTED}', '', true);\n",
    )
    body = _replace_once(
        body,
        "        RETURN;  -- another report of a run already written (o_run_id NULL): the caller merges it\n"
        "    END IF;\n",
        "        RETURN;  -- another report of a run already written (o_run_id NULL): the caller merges it\n"
        "    END IF;\n"
        "    UPDATE components SET run_count = run_count + 1 WHERE id = cid;\n",
    )
    return _replace_once(
        body,
        "INSERT INTO run_outputs (run_id, pointer_id, version, start_ts, end_ts)\n"
        "            SELECT rid, p.id, v.ver, p_start, p_end FROM",
        "INSERT INTO run_outputs (run_id, pointer_id, version, start_ts, end_ts, status)\n"
        "            SELECT rid, p.id, v.ver, p_start, p_end, p_status FROM",
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(log_run())
        op.execute(PG_TRIGGERS)
        return
    op.execute("DROP TRIGGER mltrace_output_status")
    op.execute(_sqlite_status())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_TRIGGERS_BEFORE)
        op.execute(_log_run_before())
        return
    op.execute("DROP TRIGGER mltrace_output_status")
    op.execute(_sqlite_status_before())
