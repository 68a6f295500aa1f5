"""What the pages show about versions: the trace page's version picker, the history page's marks, the
diff page's view. Plain functions of the core's records (no store access here), so the routes stay thin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mltrace_core import Address, PointerVersion, Run, Trace, TraceDiff
from mltrace_core.diff import changed_pointers, merged

PICKER_ROWS = 50  # newest versions the trace page's picker lists (+ an older one traced, and its previous)
PAGE_ROWS = 100  # rows of the versions page before "show more"


def pointer_of(where: Address, graph: Trace, hint: str | None) -> str | None:
    """The output a trace is about: the pointer addressed; for ``run:ID``, the ``hint`` if that run wrote
    it, else the run's only output (a run that wrote several is about none of them in particular)."""
    if where.pointer is not None:
        return where.pointer
    root = graph.nodes[0].run if graph.nodes else None
    if root is None:
        return None
    if hint is not None and hint in root.outputs:
        return hint
    return root.outputs[0] if len(root.outputs) == 1 else None


@dataclass(frozen=True)
class Option:
    address: str  # run:ID: exactly that write, whoever else wrote the same version
    version: str | None
    run: int
    end: Any
    status: str
    latest: bool


@dataclass(frozen=True)
class Picker:
    """The versions to pick from, newest first; ``current``: the one traced (``None`` if it is older than
    the listed ones); ``previous``: the one before it, what "diff with..." proposes."""

    options: tuple[Option, ...]
    current: Option | None
    previous: Option | None


def picker(rows: list[PointerVersion], where: Address) -> Picker:
    options = tuple(
        Option(f"run:{r.run}", r.version, r.run, r.end, r.status, i == 0) for i, r in enumerate(rows)
    )
    at = next((i for i, o in enumerate(options) if o.run == where.run), None)
    current = options[at] if at is not None else None
    previous = options[at + 1] if at is not None and at + 1 < len(options) else None
    return Picker(options, current, previous)


@dataclass(frozen=True)
class InputChange:
    pointers: tuple[str, ...]  # the inputs read at another version than the run before, or by one only
    before: int  # the run before


def input_changes(runs: list[Run], versions: dict[int, tuple[dict, dict]]) -> dict[int, InputChange]:
    """For each run of a history (newest first), how its inputs' versions differ from the run before it
    (the next in the list). The last run of the list only serves as the one before."""
    marks = {}
    for run, before in zip(runs, runs[1:], strict=False):
        now, then = versions.get(run.id, ({}, {}))[0], versions.get(before.id, ({}, {}))[0]
        changed = sorted(p for p in now.keys() | then.keys() if now.get(p, ...) != then.get(p, ...))
        if changed:
            marks[run.id] = InputChange(tuple(changed), before.id)
    return marks


@dataclass(frozen=True)
class Side:
    label: str  # "A" or "B"
    address: Address
    run: Run
    wrote: dict[str, str | None]


@dataclass(frozen=True)
class Change:
    a: Run
    b: Run
    lines: tuple[tuple[str, Any, Any], ...]  # (what, value in a, value in b), one per pointer for versions
    first: bool


@dataclass(frozen=True)
class DiffView:
    sides: tuple[Side, Side]
    changed: tuple[Change, ...]
    only_a: tuple[Run, ...]
    only_b: tuple[Run, ...]
    first: tuple[tuple[Run | None, Run | None], ...]
    graph: dict  # the merged graph, as the trace JSON plus "diff": marks, first divergences, partners


def diff_view(result: TraceDiff, start_versions: dict[int, tuple[dict, dict]]) -> DiffView:
    assert result.trace_a is not None and result.trace_b is not None
    assert result.a.run is not None and result.b.run is not None  # both sides resolved to a run
    runs_a = {n.run.id: n.run for n in result.trace_a.nodes}
    runs_b = {n.run.id: n.run for n in result.trace_b.nodes}
    firsts = set(result.first_divergences)
    sides = (
        Side("A", result.a, runs_a[result.a.run], start_versions.get(result.a.run, ({}, {}))[1]),
        Side("B", result.b, runs_b[result.b.run], start_versions.get(result.b.run, ({}, {}))[1]),
    )
    changed = tuple(
        Change(runs_a[c.a], runs_b[c.b], tuple(_lines(c.differences)), (c.a, c.b) in firsts)
        for c in result.changed
    )
    graph, marks, first, partners = merged(result)
    data = graph.to_dict()
    data["diff"] = {
        "marks": {str(k): v for k, v in marks.items()},
        "first": sorted(first),
        "partners": {str(k): v for k, v in partners.items()},
    }
    return DiffView(
        sides=sides,
        changed=changed,
        only_a=tuple(runs_a[i] for i in result.only_a),
        only_b=tuple(runs_b[i] for i in result.only_b),
        first=tuple(
            (runs_a.get(a) if a is not None else None, runs_b.get(b) if b is not None else None)
            for a, b in result.first_divergences
        ),
        graph=data,
    )


def _lines(differences) -> list[tuple[str, Any, Any]]:
    """A difference per line: version maps one pointer at a time, only the pointers that differ."""
    lines = []
    for name, va, vb in differences:
        if isinstance(va, dict) and isinstance(vb, dict):
            side, absent = (
                ("input", "(not read)") if name == "input_versions" else ("output", "(not written)")
            )
            for pointer in changed_pointers(va, vb):
                lines.append((f"{side} {pointer}", va.get(pointer, absent), vb.get(pointer, absent)))
        else:
            lines.append((name, va, vb))
    return lines
