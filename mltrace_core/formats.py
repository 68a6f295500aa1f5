"""How mltrace shows times, durations and run statuses: one vocabulary and one format for the CLI, the
pages and the browser (``mltrace_airflow/web/static/formats.js`` is the same rules in JavaScript; a test
checks the two agree).

- a time: ``2026-03-01 14:05:09 UTC`` (always UTC, to the second);
- a duration: ``350 ms``, ``4.2 s``, ``3 min 07 s``, ``2 h 05 min``;
- a status: one of :data:`STATUSES` (``aborted``: an OpenLineage ABORT; ``running``: not ended yet).
"""

from __future__ import annotations

from datetime import datetime, timezone

SUCCESS, FAILED, ABORTED, RUNNING = "success", "failed", "aborted", "running"
STATUSES = (SUCCESS, FAILED, ABORTED, RUNNING)  # every status a run can have, in this order
# A run that ended: its status is never overwritten by a later report of the same run.
TERMINAL = (SUCCESS, FAILED, ABORTED)
# A run that ended without success: it keeps its inputs and error, never outputs (not trusted).
UNSUCCESSFUL = (FAILED, ABORTED)


def when(ts: datetime | None) -> str:
    """A point in time, in UTC; ``""`` for none. A naive datetime is taken to be UTC."""
    if ts is None:
        return ""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    """A length of time; ``""`` for none or a negative one."""
    if seconds is None or not seconds >= 0:
        return ""
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 59.95:
        return f"{round(seconds * 10) / 10:.1f} s"  # tenths rounded half to even, as formats.js does
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
