"""The ``mltrace`` command. Errors become one line on stderr and exit status 1, here and nowhere else."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mltrace_core import stores
from mltrace_core import validation as valid
from mltrace_core.errors import InvalidEventError, InvalidInputError, MltraceError
from mltrace_core.spool import Spool
from mltrace_core.store import Store

if TYPE_CHECKING:
    from mltrace_core.records import Impact, Trace

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    def __init__(self, db_uri: str | None, as_json: bool) -> None:
        self.db_uri = db_uri
        self.as_json = as_json
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = stores.get(self.db_uri)
        return self._store


json_option = click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")


def emit(ctx: Context, as_json: bool, data: Any, render: Callable[[], object]) -> None:
    """JSON if asked for (here or before the command), else the human view."""
    if as_json or ctx.as_json:
        click.echo(json.dumps(data() if callable(data) else data, ensure_ascii=False, indent=2))
    else:
        render()


class MltraceGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MltraceError as exc:
            click.echo(f"mltrace: error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=MltraceGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db-uri",
    envvar="MLTRACE_DB_URI",
    metavar="URI",
    help="Store to use (default: $MLTRACE_DB_URI, else mltrace 0.17's $DB_URI or $DB_SERVER, else "
    "sqlite:///$MLTRACE_HOME/mltrace.db).",
)
@json_option
@click.version_option(package_name="mltrace-airflow", prog_name="mltrace")
@click.pass_context
def cli(ctx: click.Context, db_uri: str | None, as_json: bool) -> None:
    """Lineage for ML pipelines: what ran, on which inputs, and what produced an output."""
    ctx.obj = Context(db_uri, as_json)


pass_ctx = click.make_pass_decorator(Context)


def export_options(command: F) -> F:
    """``--format dot|mermaid|json`` and ``--by run|component``: the graph as a file (mltrace_core.export)."""
    from mltrace_core.export import BY, FORMATS

    command = click.option(
        "--by",
        type=click.Choice(BY),
        default="run",
        show_default=True,
        help="One node per run, or per component (with its run count).",
    )(command)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default=None,
        help="Print the graph as Graphviz DOT, Mermaid or JSON instead of a tree.",
    )(command)


def show_graph(ctx: Context, graph: Trace, fmt: str | None, by: str, as_json: bool) -> None:
    """A trace as a tree, as --json, or exported (--format, --by)."""
    from mltrace_core import export, render

    if fmt is None and by != "run":
        raise click.UsageError("--by needs --format")
    if fmt is not None:
        click.echo(export.export(graph, fmt, by), nl=False)
    else:
        emit(ctx, as_json, graph.to_dict, lambda: render.trace_tree(graph))


@cli.command()
@click.option("--limit", "-n", default=20, show_default=True, type=click.IntRange(1, valid.MAX_LIMIT))
@json_option
@pass_ctx
def recent(ctx: Context, limit: int, as_json: bool) -> None:
    """The most recent runs, newest first."""
    from mltrace_core import render

    runs = ctx.store.get_recent_runs(limit)
    emit(ctx, as_json, lambda: [r.to_dict() for r in runs], lambda: render.runs_table(runs, "Recent runs"))


@cli.command()
@click.argument("component")
@click.argument("limit", required=False, default=10, type=click.IntRange(1, valid.MAX_LIMIT))
@json_option
@pass_ctx
def history(ctx: Context, component: str, limit: int, as_json: bool) -> None:
    """The last LIMIT runs of COMPONENT (default 10), newest first."""
    from mltrace_core import render

    runs = ctx.store.get_history(component, limit)
    emit(
        ctx,
        as_json,
        lambda: [r.to_dict() for r in runs],
        lambda: render.runs_table(runs, f"History of {component}"),
    )


@cli.command()
@click.argument("run_id")
@json_option
@pass_ctx
def inspect(ctx: Context, run_id: str, as_json: bool) -> None:
    """Everything about one run: timing, inputs, outputs, upstream and downstream runs, staleness."""
    from mltrace_core import render

    run = ctx.store.get_component_run_information(run_id)
    emit(ctx, as_json, run.to_dict, lambda: render.run_detail(run))


ADDRESSES = (
    "NAME is its latest version; NAME@VERSION the run that wrote that version; run:ID what run ID wrote."
)
TIME = "TIME: ISO-8601 (2026-03-01T14:00:00Z; no zone means UTC) or a span before now (90s, 15m, 6h, 2d, 1w)."


def as_of_option(flag: str = "--as-of", side: str = "") -> Callable[[F], F]:
    return click.option(
        flag,
        metavar="TIME",
        default=None,
        help=f"Start{side} from the latest version written by a run that ended at or before TIME "
        "(plain names only); the lineage above it is today's.",
    )


@cli.command(epilog=f"{ADDRESSES} {TIME}")
@click.argument("output")
@click.option(
    "--depth", type=click.IntRange(0, valid.MAX_DEPTH), default=None, help="Stop this many levels up."
)
@as_of_option()
@export_options
@json_option
@pass_ctx
def trace(
    ctx: Context,
    output: str,
    depth: int | None,
    as_of: str | None,
    fmt: str | None,
    by: str,
    as_json: bool,
) -> None:
    """The runs, and their inputs, that produced OUTPUT (any version of it, see below)."""
    show_graph(ctx, ctx.store.trace(output, depth, as_of=as_of), fmt, by, as_json)


@cli.command()
@click.argument("name")
@click.option(
    "--limit", "-n", type=click.IntRange(1, valid.MAX_LIMIT), default=None, help="Only the newest N."
)
@click.option(
    "--start",
    metavar="RUN",
    default=None,
    help="From run RUN's write of NAME on (it and older ones): the next page after a --limit.",
)
@json_option
@pass_ctx
def versions(ctx: Context, name: str, limit: int | None, start: str | None, as_json: bool) -> None:
    """Every version of pointer NAME written, newest first: its writer run, when, how it ended, and
    how many runs read it."""
    from mltrace_core import render

    rows = ctx.store.versions(name, limit, start)
    emit(ctx, as_json, lambda: [r.to_dict() for r in rows], lambda: render.versions_table(name, rows))


@cli.command(epilog=f"{ADDRESSES} {TIME}")
@click.argument("a")
@click.argument("b")
@as_of_option("--as-of-a", " A")
@as_of_option("--as-of-b", " B")
@json_option
@pass_ctx
def diff(ctx: Context, a: str, b: str, as_of_a: str | None, as_of_b: str | None, as_json: bool) -> None:
    """What differs between the lineages of A and B, and where they start to differ: runs only in A
    (−), only in B (+), matched runs that differ (~), and the first divergences."""
    from mltrace_core import render

    result = ctx.store.diff(a, b, as_of_a, as_of_b)
    emit(ctx, as_json, result.to_dict, lambda: render.diff_tree(result))


@cli.command(epilog=ADDRESSES)
@click.argument("address")
@click.option(
    "--depth", type=click.IntRange(0, valid.MAX_DEPTH), default=None, help="Stop this many levels down."
)
@export_options
@json_option
@pass_ctx
def downstream(
    ctx: Context, address: str, depth: int | None, fmt: str | None, by: str, as_json: bool
) -> None:
    """Impact analysis: every run downstream of ADDRESS, transitively (NAME: every run that read any
    version of it; NAME@VERSION: the runs that read that version; run:ID: the readers of that run's
    outputs)."""
    show_graph(ctx, ctx.store.downstream(address, depth), fmt, by, as_json)


@cli.command(epilog=f"{ADDRESSES} Runs come in run-id order; --clear works on every page at once.")
@click.argument("address")
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(1, valid.MAX_LIMIT),
    default=100,
    show_default=True,
    help="Runs a page lists.",
)
@click.option("--after", metavar="RUN_ID", default=None, help='The next page: runs after this id ("next").')
@click.option(
    "--clear",
    is_flag=True,
    help="Ask Airflow's REST API to clear the affected task instances (with their downstream) so that "
    "Airflow re-runs them: a dry run first, whose list is shown, then the real clear once confirmed.",
)
@click.option("--yes", "-y", is_flag=True, help="With --clear: do not ask for confirmation.")
@click.option(
    "--airflow-url",
    metavar="URL",
    default=None,
    help="Airflow's API server (default: $MLTRACE_AIRFLOW_URL, else $AIRFLOW__API__BASE_URL, else "
    "http://localhost:8080).",
)
@click.option(
    "--airflow-user",
    metavar="USER",
    envvar="MLTRACE_AIRFLOW_USER",
    default=None,
    help="Airflow user to get a token for, when $AIRFLOW_API_TOKEN is not set (password: "
    "$MLTRACE_AIRFLOW_PASSWORD, else asked).",
)
@json_option
@pass_ctx
def impact(
    ctx: Context,
    address: str,
    limit: int,
    after: str | None,
    clear: bool,
    yes: bool,
    airflow_url: str | None,
    airflow_user: str | None,
    as_json: bool,
) -> None:
    """Everything downstream of ADDRESS: each run (and whether its outputs are still the latest, "live"),
    and the Airflow DAG runs and tasks that would need re-running. NAME: every reader of any version and
    what they led to; NAME@VERSION: the readers of that version; run:ID: the readers of its outputs."""
    from mltrace_core import render

    result = ctx.store.impact(address, limit, after)
    emit(ctx, as_json and not clear, result.to_dict, lambda: render.impact(result))
    if clear:
        _clear(result, yes, airflow_url, airflow_user, as_json or ctx.as_json)


def _clear(result: Impact, yes: bool, url: str | None, user: str | None, as_json: bool) -> None:
    """Preview (Airflow's dry run), confirm, clear: one request per DAG run, through Airflow's REST API."""
    from mltrace_core import config, rerun

    if not result.airflow:
        click.echo("Nothing to clear: no affected run has an Airflow identity.", err=True)
        return
    password = config.airflow_password()
    if user and not password and not config.airflow_api_token():
        password = click.prompt(f"Airflow password for {user}", hide_input=True, err=True)
    client = rerun.AirflowClient.from_environment(url, user, password)
    preview = rerun.clear_all(client, result.airflow, dry_run=True)
    count = sum(len(p.task_instances) for p in preview)
    if not as_json:
        click.echo(f"Airflow would clear {count} task instances (with their downstream):")
        for p in preview:
            for ti in p.task_instances:
                mapped = f"[{ti.map_index}]" if ti.map_index >= 0 else ""
                click.echo(f"  {p.dag_id}  {p.dag_run_id}  {ti.task_id}{mapped}  ({ti.state or 'no state'})")
    if not yes and not click.confirm(f"Clear these {count} task instances?", err=True):
        click.echo("Nothing cleared.", err=True)
        if as_json:
            click.echo(json.dumps({"preview": [p.to_dict() for p in preview], "cleared": []}, indent=2))
        return
    done = rerun.clear_all(client, result.airflow, dry_run=False)
    if as_json:
        click.echo(
            json.dumps(
                {"preview": [p.to_dict() for p in preview], "cleared": [d.to_dict() for d in done]},
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        cleared = sum(len(d.task_instances) for d in done)
        click.echo(f"Cleared {cleared} task instances in {len(done)} DAG runs; Airflow re-runs them.")


@cli.command()
@click.argument("tag")
@json_option
@pass_ctx
def tag(ctx: Context, tag: str, as_json: bool) -> None:
    """The components tagged TAG, with their latest runs."""
    from mltrace_core import render

    found = ctx.store.get_components(tag=tag)
    emit(
        ctx,
        as_json,
        lambda: [c.to_dict() for c in found],
        lambda: render.components_table(found, f"Tag {tag}"),
    )


@cli.command()
@click.option("--tag", default=None, help="Only the components with this tag.")
@click.option("--owner", default=None, help="Only the components of this owner.")
@json_option
@pass_ctx
def components(ctx: Context, tag: str | None, owner: str | None, as_json: bool) -> None:
    """All components (or those with a tag / owner)."""
    from mltrace_core import render

    found = ctx.store.get_components(tag=tag, owner=owner)
    emit(
        ctx,
        as_json,
        lambda: [c.to_dict() for c in found],
        lambda: render.components_table(found, "Components"),
    )


@cli.command()
@json_option
@pass_ctx
def tags(ctx: Context, as_json: bool) -> None:
    """Every tag in use."""
    found = ctx.store.get_tags()
    emit(ctx, as_json, found, lambda: click.echo("\n".join(found) if found else "No tags."))


FLAG_TARGETS = (
    "OUTPUT is NAME (the pointer: every version, later ones included) or NAME@VERSION (one version)."
)


@cli.command(epilog=FLAG_TARGETS)
@click.argument("output")
@click.option("--reason", "-r", metavar="TEXT", default=None, help="Why (shown by review and in the tab).")
@pass_ctx
def flag(ctx: Context, output: str, reason: str | None) -> None:
    """Flag OUTPUT as wrong, for `mltrace review` (and for the check of task inputs, see the docs).
    The flag records who (your OS user), when and why; flagging again adds a record."""
    from mltrace_core.flags import os_user

    record = ctx.store.flag(output, reason, by=os_user())
    click.echo(f"Flagged {record.target}")


@cli.command(epilog=FLAG_TARGETS)
@click.argument("output", required=False)
@click.option("--all", "all_", is_flag=True, help="Unflag every output.")
@pass_ctx
def unflag(ctx: Context, output: str | None, all_: bool) -> None:
    """End the active flags on OUTPUT: NAME@VERSION the flags on that version, NAME every flag on the
    pointer (or on every output with --all). The flags stay in the history."""
    if all_ == (output is not None):
        raise click.UsageError("give either OUTPUT or --all")
    if all_:
        click.echo(f"Unflagged {ctx.store.unflag_all()} outputs")
    elif output is not None:
        ended = ctx.store.unflag(output)
        click.echo(f"Unflagged {output} ({ended} active flag{'' if ended == 1 else 's'} ended)")


@cli.command()
@json_option
@pass_ctx
def review(ctx: Context, as_json: bool) -> None:
    """Flagged outputs, their flags (who, when, why; ended ones too) and the runs most common to their
    traces (the likely culprits): a version's flag traces from that version's writer."""
    from mltrace_core import render

    result = ctx.store.review_flagged_outputs()
    emit(ctx, as_json, result.to_dict, lambda: render.review(result))


@cli.command("export")
@click.option(
    "--openlineage",
    "fmt",
    flag_value="openlineage",
    required=True,
    help="As OpenLineage run events (spec 2-0-2), one JSON object a line: START, then COMPLETE, FAIL or "
    "ABORT, per run (the only format so far).",
)
@click.option(
    "--since",
    metavar="TIME",
    help="Only runs that started at or after TIME (ISO-8601, or 2d, 3h before now).",
)
@click.option("--component", metavar="C", help="Only the runs of component C.")
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    default="-",
    show_default=True,
    help="Where to write the events (- for standard output).",
)
@pass_ctx
def export_runs(ctx: Context, fmt: str, since: str | None, component: str | None, output: str) -> None:
    """Every stored run as OpenLineage events, streamed (a store of any size in constant memory), for
    Marquez, DataHub or any OpenLineage backend, or for `mltrace ingest` into another store."""
    from mltrace_core import olexport
    from mltrace_core.config import openlineage_namespace

    start = valid.point_in_time(since) if since is not None else None  # "2d" means one instant, once
    store = ctx.store
    total = store.openlineage_count(start, component)
    namespace = openlineage_namespace()
    written = 0
    stream = click.open_file(output, "w", encoding="utf-8", lazy=False)
    with stream, _progress(total, sys.stderr.isatty()) as advance:
        for batch in olexport.events(store, namespace, start, component):
            stream.write(
                "".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n" for e in batch)
            )
            runs = sum(1 for e in batch if e["eventType"] == "START")
            written += runs
            advance(runs)
    where = "standard output" if output == "-" else output
    click.echo(f"Exported {written} runs as OpenLineage events to {where}", err=True)


@contextmanager
def _progress(
    total: int, visible: bool, what: str = "runs", size: bool = False
) -> Iterator[Callable[[int], None]]:
    """A progress bar on the terminal (stderr), or nothing when stderr is not one. It counts ``what``
    (``size``: bytes, shown as sizes) and moves by what the returned function is given."""
    if not visible:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    count = DownloadColumn() if size else MofNCompleteColumn()
    columns = ("{task.description}", BarColumn(), count, TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=total)
        yield lambda n: bar.advance(task, n)


INGEST_BATCH = 1000  # events per transaction


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=True))
@pass_ctx
def ingest(ctx: Context, paths: tuple[str, ...]) -> None:
    """Load OpenLineage events from PATHS into the store: JSON Lines files (OpenLineage's file transport
    with append, or mltrace export --openlineage), directories of one-event files (the file transport's
    default), files of one event or an array of them, any of them gzipped (.gz). Events merge into runs as
    the ingestion endpoint merges them; loading the same events again changes nothing. A line or file that
    is not an event is reported with its place (FILE:LINE) and the rest is still loaded; the exit status
    is then 1."""
    from mltrace_core.openlineage import IngestResult, parse
    from mltrace_core.openlineage.files import Malformed, files, read

    found = files(list(paths))
    total = sum(p.stat().st_size for p in found)
    done = IngestResult()
    rejected = 0
    batch: list[tuple[str, object]] = []

    def flush() -> None:
        nonlocal done, rejected
        if not batch:
            return
        result, refused = _ingest_batch(ctx.store, batch)
        done, rejected = done + result, rejected + len(refused)
        for where, reason in refused:
            click.echo(f"{where}: {reason}", err=True)
        batch.clear()

    with _progress(total, sys.stderr.isatty(), "events", size=True) as advance:
        for path in found:
            offset = [0]

            def moved(position: int, offset: list[int] = offset) -> None:
                advance(position - offset[0])
                offset[0] = position

            for where, data in read(path, moved):
                if isinstance(data, Malformed):
                    click.echo(f"{where}: {data.reason}", err=True)
                    rejected += 1
                    continue
                try:
                    batch.append((where, parse(data)))
                except InvalidEventError as exc:
                    click.echo(f"{where}: {exc}", err=True)
                    rejected += 1
                    continue
                if len(batch) >= INGEST_BATCH:
                    flush()
        flush()
    click.echo(
        f"Ingested {done.events} events from {len(found)} files: {done.written} runs written, "
        f"{done.pending} pending (not ended), {done.folded} SQL queries folded into their task, "
        f"{done.acknowledged} acknowledged without a run"
        + (f"; {rejected} rejected (above)" if rejected else "")
    )
    if rejected:
        sys.exit(1)


def _ingest_batch(store: Store, batch: list[tuple[str, Any]]) -> tuple[Any, list[tuple[str, str]]]:
    """Ingest ``batch`` ((place, event) pairs) in one transaction; if the store refuses it, event by event,
    so that only the culprits are left out. Returns the result and the refused (place, reason) pairs."""
    from mltrace_core.openlineage import IngestResult

    try:
        return store.ingest([event for _, event in batch]), []
    except InvalidInputError:
        pass
    result, refused = IngestResult(), []
    for where, event in batch:
        try:
            result = result + store.ingest([event])
        except InvalidInputError as exc:
            refused.append((where, str(exc)))
    return result, refused


@cli.group()
def db() -> None:
    """The store's schema."""


@db.command()
@pass_ctx
def upgrade(ctx: Context) -> None:
    """Create or upgrade the schema to this version's revision."""
    store = Store(ctx.db_uri, timeout=3600)  # a migration of a big store may take a while
    before = store.schema_revision()
    after = store.upgrade()
    if before == after:
        click.echo(f"Schema already at revision {after}")
    else:
        click.echo(f"Schema upgraded from {before or 'nothing'} to revision {after}")


@db.command()
@pass_ctx
def current(ctx: Context) -> None:
    """Print the schema revision of the store."""
    click.echo(ctx.store.schema_revision() or "no mltrace schema")


@cli.group()
def spool() -> None:
    """Runs kept locally while the store was unreachable."""


spool_dir = click.option(
    "--dir",
    "directory",
    default=None,
    help="A spool directory (default: $MLTRACE_SPOOL_DIR, else $AIRFLOW__MLTRACE__SPOOL_DIR, else "
    "$AIRFLOW_HOME/mltrace_spool when AIRFLOW_HOME is set, else $MLTRACE_HOME/spool, with its "
    "subdirectories: Airflow keeps one per connection).",
)


@spool.command()
@spool_dir
@pass_ctx
def replay(ctx: Context, directory: str | None) -> None:
    """Write spooled runs into the store (idempotent: a run already there is not written twice). With
    --dir, every run in that directory; without, the runs meant for this store in the default spool and
    its subdirectories (runs meant for another store are left where they are). With MLTRACE_API_URL set
    and no --db-uri, into the mltrace web API at that address (runs spooled by logging over HTTP)."""
    from mltrace_core import remote

    pending = replayed = rejected = other = 0
    left: list[str] = []
    over_http = remote.current() if ctx.db_uri is None else None
    target = remote.replay_sender(over_http) if over_http is not None else ctx.store
    boxes = [Spool(directory)] if directory is not None else Spool().subspools()
    for box in boxes:
        pending += len(box.pending())
        result = box.replay(target, match_store=directory is None)
        replayed, rejected, other = (
            replayed + result.replayed,
            rejected + result.rejected,
            other + result.other_store,
        )
        if result.rejected:
            click.echo(
                f"{result.rejected} could not be read and were moved to {box.directory / 'rejected'}",
                err=True,
            )
        if result.remaining:
            left.append(f"{result.remaining} remain in {box.directory}: {result.why}")
    click.echo(f"Replayed {replayed} of {pending} spooled runs into the store")
    if other:
        click.echo(f"{other} spooled runs are meant for another store and were left in place")
    for line in left:
        click.echo(line, err=True)
    if left:
        sys.exit(1)


@spool.command()
@spool_dir
def status(directory: str | None) -> None:
    """How many runs wait in the spool (and in each of its subdirectories that holds any)."""
    root, *subspools = Spool(directory).subspools()
    click.echo(f"{len(root.pending())} spooled runs in {root.directory}")
    for box in subspools:
        if box.pending():
            click.echo(f"{len(box.pending())} spooled runs in {box.directory}")


def main() -> None:
    cli(prog_name="mltrace")
