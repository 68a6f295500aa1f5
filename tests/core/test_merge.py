"""A run reported more than once (same key) is one run: the union of what the reports say, with lineage
as exact as if it had been written whole (the oracle recomputes every edge), on SQLite and PostgreSQL."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from mltrace_core import RunRecord
from mltrace_core.models import runs
from tests.reliability.oracle import expected_dependencies, snapshot
from tests.support.timeline import at


def report(key, start, end, inputs=(), outputs=(), status="success", component="c", **kw) -> RunRecord:
    """One report of run ``key``; pointers as names or (name, version)."""

    def rows(pointers):
        return tuple((p, None, None) if isinstance(p, str) else (p[0], p[1], None) for p in pointers)

    return RunRecord(
        key=key,
        component=component,
        start=at(start),
        end=at(end),
        status=status,
        inputs=rows(inputs),
        outputs=rows(outputs),
        **kw,
    )


def assert_exact_lineage(store) -> None:
    times, reads, writes, stored = snapshot(store)
    assert stored == expected_dependencies(times, reads, writes)


def test_a_second_report_adds_what_the_first_lacked(store):
    first = store.log(report("k", 0, 1, ["a"], ["x"]))
    again = store.log(report("k", 0, 1, ["b"], ["y"]))
    assert again == first
    run = store.get_component_run_information(first)
    assert (run.inputs, run.outputs) == (("a", "b"), ("x", "y"))
    assert store.get_recent_run_ids(10) == [first]


def test_an_output_added_late_takes_its_consumers(store):
    writer = store.log(report("w", 0, 1, [], ["x"]))
    reader = store.log(report("r", 5, 6, ["y"], []))
    assert store.get_component_run_information(reader).dependencies == ()
    store.log(report("w", 0, 1, [], ["y"]))  # the writer's other output, reported later
    assert store.get_component_run_information(reader).dependencies == (writer,)
    assert [n.run.id for n in store.trace("y").nodes] == [writer]
    assert_exact_lineage(store)


def test_an_input_added_late_links_to_its_producer(store):
    producer = store.log(report("p", 0, 1, [], ["raw"]))
    later = store.log(report("later", 10, 11, [], ["raw"]))  # ended after the consumer started
    consumer = store.log(report("c", 5, 6, [], ["out"]))
    store.log(report("c", 5, 6, ["raw"], []))
    assert store.get_component_run_information(consumer).dependencies == (producer,)
    assert later not in store.get_component_run_information(consumer).dependencies
    assert_exact_lineage(store)


def test_a_failed_run_never_gains_outputs_and_keeps_its_status(store):
    failed = store.log(report("k", 0, 1, ["a"], [], status="failed", error="boom"))
    store.log(report("k", 0, 1, ["b"], ["x"], status="success"))
    run = store.get_component_run_information(failed)
    assert (run.status, run.error, run.inputs, run.outputs) == ("failed", "boom", ("a", "b"), ())


def test_a_terminal_status_is_never_overwritten(store):
    ok = store.log(report("k", 0, 1, [], ["x"]))
    store.log(report("k", 0, 2, [], [], status="failed", error="late"))
    store.log(report("k", 0, 3, [], [], status="running"))
    run = store.get_component_run_information(ok)
    assert (run.status, run.end, run.outputs) == ("success", at(1), ("x",))
    assert run.error == "late"  # a column left empty is filled in, the status is not


def test_a_running_placeholder_is_completed_by_the_report_of_its_end(store):
    producer = store.log(report("p", 0, 1, [], ["raw"]))
    placeholder = store.log(report("k", 2, 2, [], [], status="running"))
    assert store.get_component_run_information(placeholder).status == "running"
    store.log(report("k", 2, 3, [], [], status="running"))  # still running, seen later
    assert store.get_component_run_information(placeholder).end == at(3)
    done = store.log(report("k", 2, 4, ["raw"], ["model"], status="success"))
    assert done == placeholder
    run = store.get_component_run_information(done)
    assert (run.status, run.start, run.end, run.dependencies) == ("success", at(2), at(4), (producer,))
    assert [n.run.id for n in store.trace("model").nodes] == [done, producer]
    assert_exact_lineage(store)


def test_a_running_placeholder_ending_in_failure_gets_no_outputs(store):
    rid = store.log(report("k", 2, 2, [], [], status="running"))
    store.log(report("k", 2, 4, ["raw"], ["model"], status="aborted"))
    run = store.get_component_run_information(rid)
    assert (run.status, run.inputs, run.outputs) == ("aborted", ("raw",), ())


def test_an_earlier_start_moves_the_run_and_relinks_its_inputs(store):
    early = store.log(report("early", 0, 1, [], ["raw"]))
    mid = store.log(report("mid", 2, 3, [], ["raw"]))
    consumer = store.log(report("c", 4, 5, ["raw"], ["out"]))
    assert store.get_component_run_information(consumer).dependencies == (mid,)
    store.log(report("c", 2.5, 5, [], []))  # its real start: before `mid` ended
    run = store.get_component_run_information(consumer)
    assert (run.start, run.dependencies) == (at(2.5), (early,))
    assert_exact_lineage(store)


def test_a_version_reported_later_relinks_version_exact_readers(store):
    store.log(report("w1", 0, 1, [], [("m", "v1")]))
    w2 = store.log(report("w2", 2, 3, [], ["m"]))  # version unknown at first
    reader = store.log(report("r", 5, 6, [("m", "v2")], []))
    assert store.get_component_run_information(reader).dependencies == (w2,)  # compatible: unversioned
    store.log(report("w2", 2, 3, [], [("m", "v3")]))  # it wrote another version than the one read
    assert store.get_component_run_information(reader).dependencies == ()
    assert dict(store.get_component_run_information(w2).output_versions) == {"m": "v3"}
    assert_exact_lineage(store)


# -- any runs, each reported in pieces, in any order: the lineage is exactly the oracle's ----------------
NAMES = ["p", "q", "r"]
pointer_sets = st.lists(st.sampled_from(NAMES), max_size=3, unique=True)
versions = st.sampled_from([None, "v1", "v2"])


@st.composite
def histories(draw):
    runs = []
    for i in range(draw(st.integers(1, 6))):
        start = draw(st.integers(0, 12))
        end = start + draw(st.integers(0, 3))
        ins = [(p, draw(versions)) for p in draw(pointer_sets)]
        outs = [(p, draw(versions)) for p in draw(pointer_sets)]
        status = draw(st.sampled_from(["success", "success", "failed"]))
        runs.append((f"run-{i}", start, end, ins, outs, status))
    reports = []
    for key, start, end, ins, outs, status in runs:
        pieces = draw(st.integers(1, 3))
        for piece in range(pieces):
            # Later pieces may report a later start (the earliest one wins) and a part of the pointers.
            reports.append(
                (
                    key,
                    start + (piece if piece and draw(st.booleans()) else 0),
                    end + piece,
                    [p for j, p in enumerate(ins) if j % pieces == piece],
                    [p for j, p in enumerate(outs) if j % pieces == piece],
                    status,
                )
            )
    order = draw(st.permutations(range(len(reports))))
    return [reports[i] for i in order]


example = iter(range(10**9))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories())
def test_reports_in_any_order_give_the_oracles_lineage(store, history):
    # One store for every example: each example names its own runs and pointers.
    n = next(example)
    reports = [
        report(f"{n}-{key}", s, e, [(f"{n}-{p}", v) for p, v in i], [(f"{n}-{p}", v) for p, v in o], status)
        for key, s, e, i, o, status in history
    ]
    for rec in reports:
        store.log(rec)
    assert_exact_lineage(store)
    with store.session() as s:
        keys = dict(s.execute(select(runs.c.key, runs.c.id).where(runs.c.key.like(f"{n}-%"))).all())
    for key, rid in keys.items():
        mine = [r for r in reports if r.key == key]
        run = store.get_component_run_information(rid)
        assert run.start == min(r.start for r in mine)
        assert (run.status, run.end) == (mine[0].status, max(mine[0].end, run.start))
        assert set(run.inputs) == {p for r in mine for p, _, _ in r.inputs}
        # A failed run keeps what its first report said it wrote, and gains no outputs after.
        wrote = mine[:1] if mine[0].status == "failed" else mine
        assert set(run.outputs) == {p for r in wrote for p, _, _ in r.outputs}
