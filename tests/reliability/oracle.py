"""The lineage rule restated as plainly as possible, to check what the store computed incrementally."""

from __future__ import annotations

from sqlalchemy import select

from mltrace_core.models import pointers, run_dependencies, run_inputs, run_outputs, runs


def snapshot(store):
    """Every run's (start, end), inputs and outputs (pointer -> version), and stored dependencies."""
    with store.session() as s:
        times = {
            rid: (start, end)
            for rid, start, end in s.execute(select(runs.c.id, runs.c.start_ts, runs.c.end_ts))
        }
        names = dict(s.execute(select(pointers.c.id, pointers.c.name)).all())
        reads: dict[int, dict[str, str | None]] = {rid: {} for rid in times}
        writes: dict[int, dict[str, str | None]] = {rid: {} for rid in times}
        for table, target in ((run_inputs, reads), (run_outputs, writes)):
            for rid, pid, version in s.execute(select(table.c.run_id, table.c.pointer_id, table.c.version)):
                target[rid][names[pid]] = version
        stored = {
            (c, names[p]): w
            for c, p, w in s.execute(
                select(
                    run_dependencies.c.consumer_run_id,
                    run_dependencies.c.pointer_id,
                    run_dependencies.c.producer_run_id,
                )
            )
        }
    return times, reads, writes, stored


def expected_dependencies(times, reads, writes) -> dict[tuple[int, str], int]:
    """(consumer, pointer) -> producer, by the rule in ARCHITECTURE.md, computed from scratch."""
    writers: dict[str, list[int]] = {}
    for rid, outs in writes.items():
        for name in outs:
            writers.setdefault(name, []).append(rid)
    expected = {}
    for rid, ins in reads.items():
        start = times[rid][0]
        for name, read_version in ins.items():
            best = None
            for w in writers.get(name, ()):
                w_start, w_end = times[w]
                if w == rid or w_end > start or not (w_end < start or w_start < start or w < rid):
                    continue
                written = writes[w][name]
                if read_version is not None and written is not None and written != read_version:
                    continue
                rank = (read_version is not None and written == read_version, w_end, w)
                if best is None or rank > best[0]:
                    best = (rank, w)
            if best is not None:
                expected[(rid, name)] = best[1]
    return expected
