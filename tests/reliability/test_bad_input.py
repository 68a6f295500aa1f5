"""Bad input through the Python API and the CLI: a clear typed error, or an exact round trip; never a
crash, never a half-written run. (The web routes have their own property tests in tests/web.)"""

from __future__ import annotations

from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import mltrace_core
from mltrace_core import InvalidInputError, MltraceError, NotFoundError
from mltrace_core.cli import cli
from mltrace_core.naming import canonical
from tests.support.names import valid_names
from tests.support.timeline import at

NASTY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "x" * 10_000,
        "é" * 600,
        "'; DROP TABLE pointers; --",
        "<script>alert(1)</script>",
        "../../etc/passwd",
        "s3://bucket/a b/ü.csv",
        "\ud800",
        "tab\there",
        "[bold]markup[/bold]",
        "%s %(x)s {0}",
        "\u202eRTL",
        "🙂" * 300,
    ]
)
NAMES = st.one_of(
    NASTY, st.text(min_size=0, max_size=300), st.text(st.characters(codec="utf-8"), max_size=50)
)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def run_count(store) -> int:
    return len(store.get_recent_run_ids(10_000))


@FAST
@given(component=NAMES, pointer=NAMES, version=st.one_of(st.none(), NAMES), notes=NAMES)
def test_logging_round_trips_or_refuses_cleanly(store, component, pointer, version, notes):
    before = run_count(store)
    cr = mltrace_core.ComponentRun(component)
    cr.set_start_timestamp(at(0))
    cr.set_end_timestamp(at(1))
    cr.add_input("fine.csv")
    cr.add_output(pointer, version)
    cr.notes = notes
    try:
        rid = store.log(cr)
    except InvalidInputError:
        assert run_count(store) == before  # nothing written
        return
    info = store.get_component_run_information(rid)
    assert (info.component, info.outputs, info.notes) == (component, (pointer,), notes)
    assert dict(info.output_versions) == {pointer: version}
    assert store.trace(pointer).nodes[0].run.id == rid


@FAST
@given(
    value=st.one_of(st.integers(), st.text(max_size=40), st.floats(allow_nan=True), st.none(), st.booleans())
)
def test_run_ids_are_checked(store, value):
    try:
        store.get_component_run_information(value)
    except (InvalidInputError, NotFoundError):
        pass


@FAST
@given(name=NAMES, depth=st.one_of(st.none(), st.integers(min_value=-5, max_value=10**12)))
def test_queries_by_name_answer_or_refuse(store, name, depth):
    for call in (
        lambda: store.trace(name, depth),
        lambda: store.downstream(name, depth),
        lambda: store.get_history(name),
        lambda: store.get_components(tag=name),
        lambda: store.flag_output_id(name),
    ):
        try:
            call()
        except (InvalidInputError, NotFoundError):
            pass


@FAST
@given(
    args=st.lists(
        st.one_of(NAMES.filter(lambda s: "\x00" not in s), st.sampled_from(["--json", "-n", "0"])), max_size=3
    ),
    command=st.sampled_from(
        ["recent", "history", "inspect", "trace", "downstream", "tag", "flag", "unflag", "components"]
    ),
)
def test_cli_never_crashes(store, command, args):
    result = CliRunner().invoke(cli, ["--db-uri", store.uri, command, *args])
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 1:
        assert result.stderr.startswith("mltrace: error:") and len(result.stderr.strip().splitlines()) == 1
    assert not isinstance(result.exception, MltraceError) or result.exit_code == 1


STORED = valid_names(40)


@FAST
@given(component=st.one_of(NASTY, STORED), pointer=st.one_of(NASTY, STORED), reason=STORED)
def test_every_command_shows_stored_names_as_written(store, component, pointer, reason):
    """The names a store holds, printed by every command that reads them: never read as markup, never a
    traceback (test_cli_never_crashes draws names a store does not hold, which mostly end at 'not found')."""
    assume("@" not in pointer and not pointer.startswith("run:"))  # addresses of a version or a run
    cr = mltrace_core.ComponentRun(component)
    cr.set_start_timestamp(at(0))
    cr.set_end_timestamp(at(1))
    cr.add_output(pointer)
    try:
        rid = store.log(cr)
    except InvalidInputError:
        assume(False)
    shown = {}
    for args in (
        ["recent"],
        ["history", "--", component],
        ["inspect", str(rid)],
        ["trace", "--", pointer],
        ["downstream", "--", pointer],
        ["versions", "--", pointer],
        ["impact", "--", pointer],
        ["components"],
        ["flag", "--reason", reason, "--", pointer],
        ["review"],
        ["unflag", "--", pointer],
        ["diff", "--", pointer, f"run:{rid}"],
    ):
        result = CliRunner().invoke(cli, ["--db-uri", store.uri, *args])
        assert result.exit_code == 0 and "Traceback" not in result.output, (args, result.output)
        shown[args[0]] = result.stdout
    assert shown["history"].startswith(f"History of {component}"), shown["history"]
    assert f"Trace of {canonical(pointer)}" in shown["trace"], shown["trace"]
