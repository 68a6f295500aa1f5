"""Human views for the CLI, with rich. Every user-supplied string goes in as ``Text`` (never as markup),
so a pointer named ``[bold]x`` prints as it is."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from mltrace_core import config, formats
from mltrace_core.diff import changed_pointers, diverged_above, merged
from mltrace_core.entities.component import Component
from mltrace_core.records import Impact, PointerVersion, Review, Run, RunDetail, Trace, TraceDiff

STATUS_STYLE = {
    formats.SUCCESS: "green",
    formats.FAILED: "bold red",
    formats.ABORTED: "red",
    formats.RUNNING: "yellow",
}
MAX_TREE_DEPTH = 60  # deeper lineages print as a list: a 1,000-level tree is wider than any terminal


def console() -> Console:
    out = Console(highlight=False, soft_wrap=False)
    if not out.is_terminal and config.output_width() is None:
        out.width = 160  # piped or captured: do not squeeze pointer names into 80 columns
    return out


def when(ts: datetime | None) -> str:
    return formats.when(ts) or "-"


seconds = formats.duration


def status(value: str) -> Text:
    return Text(value, style=STATUS_STYLE.get(value, ""))


def names(values: Sequence[str], limit: int = 3) -> Text:
    shown = ", ".join(values[:limit])
    more = f" (+{len(values) - limit})" if len(values) > limit else ""
    return Text(shown + more)


def _table(
    title: str | Text,
    columns: Sequence[str],
    numbers: Sequence[str] = (),
    fixed: Sequence[str] = (),
    **options: Any,
) -> Table:
    """A table titled on the left with ``columns``, whose long values fold onto more lines: ``numbers``
    right-aligned, ``fixed`` never wrapped (ids, times, statuses). A title given as ``str`` is shown as
    written: it may hold a user's name, which rich would otherwise read as markup."""
    table = Table(title=Text(title) if isinstance(title, str) else title, title_justify="left", **options)
    for col in columns:
        justify: Literal["left", "right"] = "right" if col in numbers else "left"
        table.add_column(col, overflow="fold", no_wrap=col in fixed, justify=justify)
    return table


def runs_table(runs: list[Run], title: str) -> None:
    if not runs:
        console().print(Text(f"{title}: no runs."))
        return
    # The staleness column only when a run listed is stale: an empty, unnamed column otherwise.
    stale = any(run.stale for run in runs)
    columns = ("ID", "Component", "Start", "Took", "Status", "Inputs", "Outputs")
    table = _table(
        title,
        columns + ("Stale",) if stale else columns,
        numbers=("ID",),
        fixed=("ID", "Start", "Took", "Status", "Stale"),
    )
    for run in runs:
        row: list[str | Text] = [
            str(run.id),
            Text(run.component),
            when(run.start),
            seconds(run.duration),
            status(run.status),
            names(run.inputs),
            names(run.outputs),
        ]
        if stale:
            row.append(Text("stale", style="yellow") if run.stale else "")
        table.add_row(*row)
    console().print(table)


def run_detail(run: RunDetail) -> None:
    out = console()
    head = Text(f"Run {run.id} ", style="bold")
    head.append(run.component, style="bold")
    head.append("  ")
    head.append_text(status(run.status))
    out.print(head)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column(overflow="fold")
    grid.add_row("start", when(run.start))
    grid.add_row("end", when(run.end))
    grid.add_row("duration", seconds(run.duration))
    if run.code_version:
        grid.add_row("code version", Text(run.code_version))
    if run.git_hash:
        grid.add_row("git commit", Text(run.git_hash))
    if run.git_tags:
        grid.add_row("git tags", Text(", ".join(run.git_tags)))
    if run.component_tags:
        grid.add_row("tags", Text(", ".join(run.component_tags)))
    grid.add_row("upstream runs", ", ".join(map(str, run.dependencies)) or "-")
    grid.add_row("downstream runs", ", ".join(map(str, run.downstream)) or "-")
    ext = run.external
    if ext and ext.dag_id:
        ident = f"{ext.dag_id}.{ext.task_id} run={ext.run_id} try={ext.try_number}"
        if ext.map_index is not None and ext.map_index >= 0:
            ident += f" map_index={ext.map_index}"
        grid.add_row("airflow", Text(ident))
    if ext and ext.url:
        grid.add_row("task instance", Text(ext.url))
    if ext and ext.openlineage_run_id:
        ident = ext.openlineage_run_id
        if ext.openlineage_namespace:
            ident += f" namespace={ext.openlineage_namespace}"
        if ext.openlineage_parent_run_id:
            ident += f" parent={ext.openlineage_parent_run_id}"
        grid.add_row("openlineage run", Text(ident))
    if run.notes:
        grid.add_row("notes", Text(run.notes))
    if run.error:
        grid.add_row("error", Text(run.error, style="red"))
    out.print(grid)
    types = dict(run.pointer_types)
    for label, pairs in (("Inputs", run.input_versions), ("Outputs", run.output_versions)):
        table = _table(label, ("pointer", "version", "type"), show_edge=False)
        for name, version in pairs:
            table.add_row(Text(name), Text(version or "-"), Text(types.get(name) or "-"))
        out.print(table if pairs else f"{label}: none")
    if run.tests:
        table = _table("Tests", ("when", "test", "result", "message"), show_edge=False)
        for test in run.tests:
            result = Text("passed", style="green") if test.passed else Text("failed", style="bold red")
            table.add_row(test.phase, Text(test.name), result, Text(test.message))
        out.print(table)
    for warning in run.stale:
        out.print(Text("stale: " + warning, style="yellow"))
    if run.code_snapshot:
        out.print(Text("Code snapshot", style="bold"))
        out.print(Text(run.code_snapshot))


def _label(run: Run) -> Text:
    text = Text(f"#{run.id} ", style="bold")
    text.append(run.component)
    text.append("  ")
    text.append_text(status(run.status))
    text.append(f"  {when(run.end)}", style="dim")
    if run.stale:
        text.append("  stale", style="yellow")
    return text


def trace_tree(graph: Trace) -> None:
    out = console()
    upstream = graph.direction == "upstream"
    if not graph.nodes:
        what = "No run wrote" if upstream else "No run read"
        out.print(Text(f"{what} {graph.output}."))
        return
    runs = {node.run.id: node.run for node in graph.nodes}
    depth = max(node.depth for node in graph.nodes)
    if depth > MAX_TREE_DEPTH:
        _trace_list(graph, runs)
        return
    children: dict[int, list[tuple[str, int]]] = {}
    for edge in graph.edges:
        here, there = (edge.consumer, edge.producer) if upstream else (edge.producer, edge.consumer)
        children.setdefault(here, []).append((edge.via, there))
    root = Tree(Text(("Trace of " if upstream else "Downstream of ") + graph.output, style="bold"))
    shown: set[int] = set()
    stack: list[tuple[Tree, str | None, int]] = [
        (root, None, node.run.id) for node in reversed(graph.nodes) if node.depth == 0
    ]
    while stack:  # iterative: lineages can be deeper than Python's recursion limit
        parent, via, run_id = stack.pop()
        label = Text(f"{via} ⇐ " if upstream else f"{via} ⇒ ", style="cyan") if via else Text()
        if run_id in shown:
            label.append(f"#{run_id} (shown above)", style="dim")
            parent.add(label)
            continue
        shown.add(run_id)
        label.append_text(_label(runs[run_id]))
        branch = parent.add(label)
        for next_via, next_id in reversed(children.get(run_id, [])):
            stack.append((branch, next_via, next_id))
    out.print(root)
    if graph.truncated:
        out.print(Text("(truncated: more lineage beyond the depth asked for)", style="dim"))


def _trace_list(graph: Trace, runs: dict[int, Run]) -> None:
    out = console()
    out.print(Text(f"Trace of {graph.output}: {len(graph.nodes)} runs, listed by depth", style="bold"))
    for node in graph.nodes:
        line = Text(f"{node.depth:>5}  ")
        line.append_text(_label(node.run))
        out.print(line)
    if graph.truncated:
        out.print(Text("(truncated: more lineage beyond the depth asked for)", style="dim"))


def components_table(found: list[Component], title: str) -> None:
    if not found:
        console().print(Text(f"{title}: no components."))
        return
    columns = ("Component", "Owner", "Tags", "Runs", "Latest run", "Status", "Description")
    table = _table(title, columns, numbers=("Runs",))
    for comp in found:
        latest = comp.latest_run
        table.add_row(
            Text(comp.name),
            Text(comp.owner),
            Text(", ".join(comp.tags)),
            str(comp.run_count),
            f"#{latest.id} {when(latest.start)}" if latest else "-",
            status(latest.status) if latest else "",
            Text(comp.description),
        )
    console().print(table)


def review(result: Review) -> None:
    out = console()
    if not result.flagged:
        out.print("No flagged outputs.")
        return
    out.print(Text("Flagged: " + ", ".join(result.flagged), style="bold"))
    flags = _table("Flags", ("Target", "Reason", "By", "At", "Ended"))
    for f in result.flags:
        ended = when(f.unflagged_at) if f.unflagged_at else "active"
        flags.add_row(Text(f.target), Text(f.reason or ""), Text(f.by or ""), when(f.at), ended)
    out.print(flags)
    columns = ("Count", "ID", "Component", "Start", "Status")
    table = _table("Runs most common to their traces", columns, numbers=("Count", "ID"))
    for run, count in result.runs:
        table.add_row(str(count), str(run.id), Text(run.component), when(run.start), status(run.status))
    out.print(table)


def impact(result: Impact) -> None:
    out = console()
    if not result.runs:
        out.print(
            Text(f"Nothing downstream of {result.address}" + (" after that run." if result.total else "."))
        )
    else:
        title = Text(f"Impact of {result.address}: {result.total} runs")
        # The task instance of each run, only when some run listed was an Airflow task's (as runs_table's
        # staleness: no empty column for runs logged from plain Python).
        where = [
            f"{ext.dag_id} {ext.run_id} {ext.task_id}"
            if (ext := run.external) is not None and ext.dag_id
            else ""
            for run, _ in result.runs
        ]
        airflow = any(where)
        columns = ("ID", "Component", "Start", "Status", "Live")
        table = _table(title, columns + ("Airflow",) if airflow else columns, numbers=("ID",))
        for (run, live), task in zip(result.runs, where, strict=True):
            row: list[str | Text] = [
                str(run.id),
                Text(run.component),
                when(run.start),
                status(run.status),
                Text("live", style="bold red") if live else "",
            ]
            if airflow:
                row.append(Text(task))
            table.add_row(*row)
        out.print(table)
        if result.next is not None:
            out.print(Text(f"More: --after {result.next}"))
    if result.airflow:
        table = _table("Airflow DAG runs to re-run", ("DAG", "Run", "Tasks"))
        for group in result.airflow:
            table.add_row(Text(group.dag_id), Text(group.run_id), Text(", ".join(group.task_ids)))
        out.print(table)


def versions_table(name: str, rows: list[PointerVersion]) -> None:
    if not rows:
        console().print(Text(f"No run has written {name}."))
        return
    columns = ("Version", "Run", "Ended", "Status", "Readers")
    table = _table(Text(f"Versions of {name}"), columns, numbers=("Run", "Readers"))
    for row in rows:
        table.add_row(
            Text(row.version) if row.version is not None else Text("(unversioned)", style="dim"),
            str(row.run),
            when(row.end),
            status(row.status),
            str(row.readers),
        )
    console().print(table)


DIFF_LINES = 8  # differences printed under one run; --json has them all
DIFF_MARKS = {"changed": ("~", "yellow"), "only_a": ("−", "red"), "only_b": ("+", "green")}


def diff_tree(result: TraceDiff) -> None:
    """Both lineages as one tree from the start runs: ``~`` changed, ``+`` only in B, ``−`` only in A, the
    first divergences pointed out. Parts of the lineage with no difference in them are folded."""
    out = console()
    head = Text("Diff of ", style="bold")
    for side, letter in ((result.a, "A"), (result.b, "B")):
        head.append(f"{letter} {side.address}", style="bold")
        head.append(f" (run #{side.run})" + (" → " if letter == "A" else ""))
    out.print(head)
    if result.empty:
        out.print("No differences: the two lineages match run for run.")
        return
    out.print(
        f"{len(result.changed)} changed, {len(result.only_a)} only in A, {len(result.only_b)} only in B; "
        f"{len(result.first_divergences)} first divergence{'s' if len(result.first_divergences) != 1 else ''}"
    )
    graph, marks, first, partners = merged(result)
    runs = {node.run.id: node.run for node in graph.nodes}
    producers: dict[int, list[tuple[str, int]]] = {}
    for edge in graph.edges:
        producers.setdefault(edge.consumer, []).append((edge.via, edge.producer))
    above_marked = diverged_above(graph, set(marks))
    differs = {r: r in marks or above_marked[r] for r in runs}
    changes = {c.b: c for c in result.changed}
    root = Tree(Text("~ changed   + only in B   − only in A", style="dim"))
    shown: set[int] = set()
    stack: list[tuple[Tree, str | None, int]] = [
        (root, None, node.run.id) for node in reversed(graph.nodes) if node.depth == 0
    ]
    while stack:
        parent, via, run_id = stack.pop()
        mark, style = DIFF_MARKS.get(marks.get(run_id, ""), (" ", ""))
        label = Text(f"{mark} ", style=style or "dim")
        if via:
            label.append(f"{via} ⇐ ", style="cyan")
        if run_id in shown:
            parent.add(label.append(f"#{run_id} (shown above)", style="dim"))
            continue
        shown.add(run_id)
        if run_id in partners:
            label.append(f"#{partners[run_id]} → ", style="bold")
        run = runs[run_id]
        label.append(f"#{run.id} ", style="bold")
        label.append(run.component)
        if run_id in first:
            label.append("  ◀ first divergence", style="bold red")
        label.append("  ")
        label.append_text(status(run.status))
        label.append(f"  {when(run.end)}", style="dim")
        branch = parent.add(label)
        lines = [
            line
            for name, va, vb in (changes[run_id].differences if run_id in changes else ())
            for line in _difference_lines(name, va, vb)
        ]
        for line in lines[:DIFF_LINES]:
            branch.add(Text(line, style="yellow"))
        if len(lines) > DIFF_LINES:
            more = len(lines) - DIFF_LINES
            note = f"… {more} more difference{'s' if more > 1 else ''} (--json lists them all)"
            branch.add(Text(note, style="dim"))
        above = producers.get(run_id, [])
        folded = [p for _, p in above if not differs[p]]
        if folded:
            branch.add(
                Text(f"… {len(folded)} unchanged upstream run{'s' if len(folded) > 1 else ''}", style="dim")
            )
        for next_via, next_id in reversed([(v, p) for v, p in above if differs[p]]):
            stack.append((branch, next_via, next_id))
    out.print(root)


def _difference_lines(name: str, va: object, vb: object) -> list[str]:
    if isinstance(va, dict) and isinstance(vb, dict):
        side = "input" if name == "input_versions" else "output"
        return [
            f"{side} {pointer}: {_shown(va.get(pointer, _ABSENT))} → {_shown(vb.get(pointer, _ABSENT))}"
            for pointer in changed_pointers(va, vb)
        ]
    return [f"{name}: {_shown(va)} → {_shown(vb)}"]


_ABSENT = object()


def _shown(value: object) -> str:
    if value is _ABSENT:
        return "(not there)"
    if value is None:
        return "(none)"
    return repr(value) if isinstance(value, str) else str(value)
