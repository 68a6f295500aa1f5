"""What a store holds about Airflow task tries, named by Airflow identity instead of store ids, so two
stores (one fed through an outage and replays, one fed in order) can be compared run for run."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

import mltrace_core
from mltrace_core import ExternalIdentity, RunRecord
from mltrace_core.models import components, runs
from tests.reliability.oracle import expected_dependencies, snapshot

# (dag_id, run_id, task_id, map_index, try_number)
Identity = tuple[str, str, str, int, int]


@dataclass(frozen=True)
class TryRun:
    id: int
    key: str
    component: str
    status: str
    error: str | None
    url: str | None


@dataclass(frozen=True)
class Lineage:
    tries: dict[Identity, TryRun]
    times: dict[Identity, tuple]
    reads: dict[Identity, dict[str, str | None]]
    writes: dict[Identity, dict[str, str | None]]
    edges: dict[tuple[Identity, str], Identity]  # (consumer, pointer) -> producer, as stored
    expected: dict[tuple[Identity, str], Identity]  # the same, recomputed by the oracle
    duplicates: list[Identity]  # identities logged more than once (must stay empty)


def read(store: mltrace_core.Store) -> Lineage:
    times, reads, writes, stored = snapshot(store)
    with store.session() as s:
        rows = s.execute(
            select(
                runs.c.id, runs.c.key, components.c.name, runs.c.status, runs.c.error, runs.c.ext_url,
                runs.c.ext_dag_id, runs.c.ext_run_id, runs.c.ext_task_id, runs.c.ext_map_index,
                runs.c.ext_try_number,
            ).join(components, components.c.id == runs.c.component_id)
        ).all()  # fmt: skip
    ident: dict[int, Identity] = {}
    tries: dict[Identity, TryRun] = {}
    duplicates = []
    for rid, key, component, status, error, url, *ext in rows:
        identity = tuple(ext)
        assert None not in identity, f"run {rid} ({component}) has no complete Airflow identity: {ext}"
        if identity in tries:
            duplicates.append(identity)
        ident[rid] = identity
        tries[identity] = TryRun(rid, key, component, status, error, url)
    expected = expected_dependencies(times, reads, writes)
    return Lineage(
        tries=tries,
        times={ident[r]: t for r, t in times.items()},
        reads={ident[r]: v for r, v in reads.items()},
        writes={ident[r]: v for r, v in writes.items()},
        edges={(ident[c], p): ident[w] for (c, p), w in stored.items()},
        expected={(ident[c], p): ident[w] for (c, p), w in expected.items()},
        duplicates=duplicates,
    )


def records(lineage: Lineage) -> list[RunRecord]:
    """The runs again, as the records their task tries sent, in the order the tries ended: what a store
    that never went down would have received."""
    out = []
    for identity, run in lineage.tries.items():
        dag_id, run_id, task_id, map_index, try_number = identity
        start, end = lineage.times[identity]
        out.append(
            RunRecord(
                key=run.key,
                component=run.component,
                start=start,
                end=end,
                status=run.status,
                error=run.error,
                external=ExternalIdentity(dag_id, run_id, task_id, try_number, map_index, run.url),
                inputs=tuple((n, v, None) for n, v in sorted(lineage.reads[identity].items())),
                outputs=tuple((n, v, None) for n, v in sorted(lineage.writes[identity].items())),
            )
        )
    return sorted(out, key=lambda r: (r.end, r.key))


def most_at_once(times) -> int:
    """The largest number of runs that were running at the same instant."""
    events = sorted([(start, 1) for start, _ in times.values()] + [(end, -1) for _, end in times.values()])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak
