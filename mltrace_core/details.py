"""What ``inspect`` shows beyond a listed run: the code that ran (git commit and tags, code snapshot), the
component's test results, the pointers' types, and the upstream runs' component names (mltrace 0.17's
``dependencies``). Kept out of the batch loads of ``queries.py``: a listing or a trace never pays for them.
Each function takes a session (the caller owns the transaction)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mltrace_core.models import (
    components,
    pointers,
    run_dependencies,
    run_inputs,
    run_outputs,
    run_tests,
    runs,
)
from mltrace_core.queries import dialect_of, id_in, ids_text, run_detail
from mltrace_core.records import Run, RunDetail
from mltrace_core.runs import TestResult


def code_details(session: Session, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Per run id: git_hash, git_tags, code_snapshot and upstream_components (sorted names)."""
    ids = list(ids)
    if not ids:
        return {}
    dialect, bound = dialect_of(session), {"ids": ids_text(session, ids)}
    found: dict[int, dict[str, Any]] = {}
    query = select(runs.c.id, runs.c.git_hash, runs.c.git_tags, runs.c.code_snapshot).where(
        id_in(dialect, runs.c.id)
    )
    for rid, git_hash, git_tags, snapshot in session.execute(query, bound):
        found[rid] = {
            "git_hash": git_hash,
            "git_tags": None if git_tags is None else tuple(git_tags),
            "code_snapshot": snapshot,
            "upstream_components": set(),
        }
    producer = runs.alias("producer")
    upstream = (
        select(run_dependencies.c.consumer_run_id, components.c.name)
        .join(producer, producer.c.id == run_dependencies.c.producer_run_id)
        .join(components, components.c.id == producer.c.component_id)
        .where(id_in(dialect, run_dependencies.c.consumer_run_id))
    )
    for rid, name in session.execute(upstream, bound):
        found[rid]["upstream_components"].add(name)
    for details in found.values():
        details["upstream_components"] = tuple(sorted(details["upstream_components"]))
    return found


def with_code_details(session: Session, loaded: list[Run]) -> list[Run]:
    """``loaded`` with their code details filled in (one query for all of them)."""
    details = code_details(session, [r.id for r in loaded])
    return [replace(r, **details[r.id]) if r.id in details else r for r in loaded]


def detail(session: Session, run_id: int) -> RunDetail:
    """Everything ``inspect`` shows about one run."""
    run = run_detail(session, run_id)
    tests = session.execute(
        select(run_tests.c.phase, run_tests.c.name, run_tests.c.passed, run_tests.c.message)
        .where(run_tests.c.run_id == run_id)
        .order_by(run_tests.c.position)
    ).all()
    types: dict[str, str | None] = {}
    for table in (run_inputs, run_outputs):
        query = (
            select(pointers.c.name, pointers.c.type)
            .join(table, table.c.pointer_id == pointers.c.id)
            .where(table.c.run_id == run_id)
        )
        types.update((name, ptype) for name, ptype in session.execute(query))
    return replace(
        run,
        **code_details(session, [run_id])[run_id],
        tests=tuple(TestResult(phase, name, passed, message) for phase, name, passed, message in tests),
        pointer_types=tuple(sorted(types.items())),
    )
