"""The lineage rule (ARCHITECTURE.md) as SQL, written once for every statement that picks a producer.

A run R that read pointer P (with version V or none) depends on the run W that wrote P with the latest
end at or before R started; a W that wrote exactly V is preferred to one that wrote no version (or when R
read none); a W ending exactly when R starts counts unless both start then and W was logged after R;
ties go to the later-logged W. The statements that link producers -- a new run (write.py, fastlog.py),
a batch (batch.py), every reader of a pointer (write.relink_pointers) -- embed :func:`producer`, with
their own names for the reader's start and id. The late-run relinks choose among candidates in their own
way and are checked, with all of these, by tests/core/test_lineage_rule.py against the oracle.
"""

from __future__ import annotations


def eligible(start: str, run_id: str) -> str:
    """SQL: writer ``o`` (an alias of run_outputs) may be upstream of a reader that started at ``start``
    and has id ``run_id`` (SQL expressions: a column, a bound parameter)."""
    return (
        f"o.end_ts <= {start} AND o.run_id <> {run_id} "
        f"AND (o.end_ts < {start} OR o.start_ts < {start} OR o.run_id < {run_id})"
    )


def producer(reader: str, start: str, run_id: str) -> str:
    """SQL: the producer of the read ``reader`` (an alias with pointer_id and version) by the rule, or
    NULL: the exact version's latest eligible writer, else the latest eligible one where either side has
    no version."""
    ok = eligible(start, run_id)
    return f"""COALESCE(
        (SELECT o.run_id FROM run_outputs o
          WHERE o.pointer_id = {reader}.pointer_id AND o.version = {reader}.version AND {ok}
          ORDER BY o.end_ts DESC, o.run_id DESC LIMIT 1),
        (SELECT o.run_id FROM run_outputs o
          WHERE o.pointer_id = {reader}.pointer_id AND ({reader}.version IS NULL OR o.version IS NULL)
            AND {ok}
          ORDER BY o.end_ts DESC, o.run_id DESC LIMIT 1)
    )"""
