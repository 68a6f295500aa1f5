"""The versions of a pointer, on SQLite and PostgreSQL: one row per write, newest first, with readers."""

from __future__ import annotations

import importlib
import itertools
from datetime import timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from mltrace_core import NotFoundError, RunRecord
from tests.support.timeline import at


def rows(store, name, **kw):
    return [v.to_dict() for v in store.versions(name, **kw)]


def test_every_write_newest_first_with_its_readers(store, log):
    w1 = log("train", [], [("model", "v1")], 0, 10)
    w2 = log("train", [], [("model", "v2")], 20, 30, status="failed")
    w3 = log("train", [], ["model"], 40, 50)  # unversioned
    r1 = log("score", [("model", "v1")], ["s1"], 60, 61)  # pinned to v1
    r2 = log("score", ["model"], ["s2"], 60, 61)  # the latest: w3
    log("score", ["model"], ["s3"], 35, 36)  # w2 was the latest then
    assert rows(store, "model") == [
        {"version": None, "run": w3, "end": "2026-01-01T00:50:00+00:00", "status": "success", "readers": 1},
        {"version": "v2", "run": w2, "end": "2026-01-01T00:30:00+00:00", "status": "failed", "readers": 1},
        {"version": "v1", "run": w1, "end": "2026-01-01T00:10:00+00:00", "status": "success", "readers": 1},
    ]
    assert r1 != r2


def test_the_same_version_written_twice_is_two_rows(store, log):
    first = log("train", [], [("model", "same")], 0, 10)
    second = log("train", [], [("model", "same")], 20, 30)
    assert [(v.version, v.run) for v in store.versions("model")] == [("same", second), ("same", first)]


def test_ties_on_end_time_list_the_higher_run_id_first(store, log):
    a = log("train", [], [("model", "a")], 0, 10)
    b = log("train", [], [("model", "b")], 5, 10)
    assert [v.run for v in store.versions("model")] == [b, a]


def test_readers_count_only_edges_for_that_pointer(store, log):
    w = log("prep", [], ["x", "y"], 0, 10)
    log("use", ["x", "y"], [], 20, 21)
    log("use", ["y"], [], 22, 23)
    assert [v.readers for v in store.versions("x")] == [1]
    assert [v.readers for v in store.versions("y")] == [2]
    assert store.versions("x")[0].run == w


def test_a_pointer_only_read_has_no_versions_and_an_unknown_one_is_an_error(store, log):
    log("use", ["raw"], [], 0, 1)
    assert store.versions("raw") == []
    with pytest.raises(NotFoundError, match="no pointer named 'nope'"):
        store.versions("nope")


def test_limit_keeps_the_newest(store, log):
    ids = [log("w", [], [("p", f"v{i}")], i * 10, i * 10 + 1) for i in range(5)]
    assert [v.run for v in store.versions("p", limit=2)] == [ids[4], ids[3]]


def test_input_and_output_versions_of_runs(store, log):
    w = log("w", ["cfg"], [("p", "v1"), "q"], 0, 1)
    r = log("r", [("p", "v1"), "q"], [], 2, 3)
    found = store.get_pointer_versions([w, r])
    assert found[w] == ({"cfg": None}, {"p": "v1", "q": None})
    assert found[r] == ({"p": "v1", "q": None}, {})


def readers_by_trace(store, reader_ids, name) -> dict[int, int]:
    """Readers counted from the other side: each reader's own trace says which run its edge for ``name``
    leads to (the lineage rule, not the versions query)."""
    counts: dict[int, int] = {}
    for reader in reader_ids:
        for edge in store.trace(f"run:{reader}", max_depth=1).edges:
            if edge.consumer == reader and edge.via == name:
                counts[edge.producer] = counts.get(edge.producer, 0) + 1
    return counts


def test_a_version_written_twice_counts_the_readers_of_each_write(store, log):
    first = log("train", [], [("model", "same")], 0, 10)
    readers = [log("score", [("model", "same")], [], 12, 13)]  # only the first had written it then
    second = log("train", [], [("model", "same")], 20, 30)
    readers += [log("score", [("model", "same")], [], 32, 33), log("score", ["model"], [], 34, 35)]
    found = store.versions("model")
    assert [(v.version, v.run, v.readers) for v in found] == [("same", second, 2), ("same", first, 1)]
    assert {v.run: v.readers for v in found} == readers_by_trace(store, readers, "model")


def test_unversioned_writes_are_rows_with_a_null_version_and_their_own_readers(store, log):
    w1 = log("etl", [], ["table"], 0, 10)
    readers = [log("use", ["table"], [], 15, 16)]
    w2 = log("etl", [], ["table"], 20, 30)
    readers += [log("use", ["table"], [], 35, 36), log("use", ["table"], [], 37, 38)]
    assert rows(store, "table") == [
        {"version": None, "run": w2, "end": "2026-01-01T00:30:00+00:00", "status": "success", "readers": 2},
        {"version": None, "run": w1, "end": "2026-01-01T00:10:00+00:00", "status": "success", "readers": 1},
    ]
    assert {v.run: v.readers for v in store.versions("table")} == readers_by_trace(store, readers, "table")


def test_a_write_nobody_read_has_no_readers_and_ties_keep_their_own(store, log):
    a = log("train", [], [("model", "a")], 0, 10)
    b = log("train", [], [("model", "b")], 5, 10)  # same end time: b is the later-logged, listed first
    reader = log("score", [("model", "a")], [], 11, 12)  # pinned to a, though b is as new
    assert [(v.run, v.readers) for v in store.versions("model")] == [(b, 0), (a, 1)]
    assert readers_by_trace(store, [reader], "model") == {a: 1}


def test_a_page_from_a_run_on_is_the_rest_of_the_list(store, log):
    ends = [10, 30, 30, 20, 30, 5]  # ties on 30
    for i, end in enumerate(ends):
        log("w", [], [("p", f"v{i}" if i % 3 else None)], 0, end)
    full = store.versions("p")
    assert [v.end for v in full] == sorted((v.end for v in full), reverse=True)
    for k, row in enumerate(full):
        assert store.versions("p", start=row.run) == full[k:]
        assert store.versions("p", limit=2, start=row.run) == full[k : k + 2]
    other = log("other", [], ["q"], 0, 1)
    with pytest.raises(NotFoundError, match=f"run {other} did not write 'p'"):
        store.versions("p", start=other)


def pages_of_one(store, name) -> list:
    """The list read back one row at a time: each a page of one from that row's run on (readers by a
    probe per row), where the whole list counts them in one grouped scan of the pointer's edges."""
    full = store.versions(name)
    return [store.versions(name, limit=1, start=row.run)[0] for row in full]


def test_a_version_read_by_several_runs_counts_each_reader_in_the_list_and_in_pages(store, log):
    w1 = log("train", [], [("model", "v1")], 0, 10)
    readers = [log("score", [("model", "v1")], [], 11 + k, 12 + k) for k in range(3)]
    w2 = log("train", [], ["model"], 20, 30)  # unversioned
    readers += [log("score", ["model"], [], 31 + k, 32 + k) for k in range(2)]
    w3 = log("train", [], [("model", "v3")], 40, 50)  # read by nobody
    full = store.versions("model")
    assert [(v.run, v.version, v.readers) for v in full] == [(w3, "v3", 0), (w2, None, 2), (w1, "v1", 3)]
    assert {v.run: v.readers for v in full if v.readers} == readers_by_trace(store, readers, "model")
    assert pages_of_one(store, "model") == full
    assert store.versions("model", limit=2) == full[:2]  # a page boundary: the probes, the same rows
    assert store.versions("model", limit=2, start=full[2].run) == full[2:]


def test_readers_follow_a_late_logged_writer_that_takes_them_over(store, log):
    """Edges are relinked when a writer is logged late (replayed after an outage): the counts move with
    them, in the whole list and in its pages."""
    early = log("etl", [], ["table"], 0, 10)
    readers = [log("use", ["table"], [], 30 + k, 31 + k) for k in range(3)]
    assert [(v.run, v.readers) for v in store.versions("table")] == [(early, 3)]
    late = log("etl", [], ["table"], 15, 20)  # ended before the readers started: the latest for them
    full = store.versions("table")
    assert [(v.run, v.readers) for v in full] == [(late, 3), (early, 0)]
    assert {v.run: v.readers for v in full if v.readers} == readers_by_trace(store, readers, "table")
    assert pages_of_one(store, "table") == full


def test_readers_of_another_pointer_written_by_the_same_run_are_not_counted(store, log):
    both = log("prep", [], [("x", "1"), ("y", "1")], 0, 10)
    log("use", [("y", "1")], [], 11, 12)
    log("use", [("y", "1")], [], 13, 14)
    assert [(v.run, v.readers) for v in store.versions("x")] == [(both, 0)]
    assert [(v.run, v.readers) for v in store.versions("y")] == [(both, 2)]
    assert pages_of_one(store, "x") == store.versions("x")


def statuses_agree_with_the_runs(store, name) -> list[str]:
    """Each row's status is its run's, as the run's own record says (the copy the database keeps on the
    write against the run)."""
    found = store.versions(name)
    assert [v.status for v in found] == [r.status for r in store.get_runs(v.run for v in found)]
    assert pages_of_one(store, name) == found
    return [v.status for v in found]


def test_a_run_in_progress_that_ends_gives_its_writes_its_final_status(store):
    def report(key, status, end, outputs=(("model", "v1", None),)):
        return store.log(
            RunRecord(key=key, component="train", start=at(0), end=at(end), status=status, outputs=outputs)
        )

    run = report("train/1", "running", 1)
    other = report("train/2", "running", 2, (("model", "v2", None), ("metrics", None, None)))
    assert statuses_agree_with_the_runs(store, "model") == ["running", "running"]
    assert report("train/1", "success", 5) == run
    assert report("train/2", "failed", 6, ()) == other
    assert [(v.run, v.status) for v in store.versions("model")] == [(other, "failed"), (run, "success")]
    assert statuses_agree_with_the_runs(store, "model") == ["failed", "success"]
    assert statuses_agree_with_the_runs(store, "metrics") == ["failed"]
    assert report("train/1", "failed", 7) == run  # a terminal status is kept, and so is its copy
    assert statuses_agree_with_the_runs(store, "model") == ["failed", "success"]


def test_openlineage_runs_that_start_and_end_list_their_final_status(store):
    from mltrace_core.openlineage import parse
    from tests.support.openlineage import event, new_id

    done, failed = new_id(), new_id()
    events = [
        event("START", done, 0, "train", outputs=["/m.pkl"]),
        event("START", failed, 1, "train", outputs=["/m.pkl"]),
        event("COMPLETE", done, 2, "train", outputs=["/m.pkl"]),
        event("FAIL", failed, 3, "train", outputs=["/m.pkl"]),  # a failed run writes nothing
    ]
    store.ingest([parse(e) for e in events])
    assert statuses_agree_with_the_runs(store, "/m.pkl") == ["success"]
    again = new_id()
    store.ingest([parse(event("COMPLETE", again, 5, "train", outputs=["/m.pkl"]))])
    store.ingest([parse(event("START", again, 4, "train"))])  # late: changes its start only
    assert statuses_agree_with_the_runs(store, "/m.pkl") == ["success", "success"]


def test_runs_logged_in_a_batch_list_their_statuses(store):
    records = [
        RunRecord(
            key=f"b{i}",
            component="w",
            start=at(i),
            end=at(i + 1),
            status=s,
            outputs=(("batch", f"v{i}", None),),
        )
        for i, s in enumerate(["success", "failed", "running", "success"])
    ]
    ids = store.log_many(records)
    assert statuses_agree_with_the_runs(store, "batch") == ["success", "running", "failed", "success"]
    assert [v.run for v in store.versions("batch")] == ids[::-1]


WRITES = st.lists(st.tuples(st.integers(0, 4), st.sampled_from([None, "x", "y"])), min_size=1, max_size=8)
_pointers = itertools.count()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=WRITES)
def test_one_row_per_write_newest_first_by_end_then_run(store, writes):
    """Against a model of the contract: every write a row, ordered by end time then run id, newest
    first, its version as written (``None`` for an unversioned write)."""
    name = f"versions/{next(_pointers)}"
    logged = [
        (
            end,
            store.log(
                RunRecord(
                    key=f"{name}/{i}", component="w", start=at(-1), end=at(end), outputs=((name, v, None),)
                )
            ),
            v,
        )
        for i, (end, v) in enumerate(writes)
    ]
    want = [(run, v) for _, run, v in sorted(logged, reverse=True)]
    assert [(r.run, r.version) for r in store.versions(name)] == want


versions_module = importlib.import_module(
    "mltrace_core.versions"
)  # the package exports a function of that name


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kathmandu", "America/St_Johns"])
def test_the_text_times_form_equals_the_typed_form(store, log, zone):
    """PostgreSQL's fast form (end times as UTC text, records built in C loops) against the typed form
    it falls back to, on the same rows: unversioned writes, a version written twice, ties on the end
    time, readers, fractions of a second of every length, pages; whatever the session's time zone (on
    SQLite both are the one typed form)."""
    w = [log("w", [], [("m", "a")], 0, 10), log("w", [], ["m"], 1, 10)]  # a tie on the end time
    log("r", [("m", "a")], [], 11, 12)
    for k, micro in enumerate((0, 500_000, 120_000, 123_400, 123_456, 1)):
        end = at(20 + k) + timedelta(microseconds=micro)
        w.append(
            store.log(
                RunRecord(key=f"frac{k}", component="w", start=at(19), end=end, outputs=(("m", "b", None),))
            )
        )
        log("r", ["m"], [], 30 + k, 31 + k)
    w.append(log("w", [], ["m"], 40, 50))  # unversioned, last
    with Session(store.engine) as session:
        if store.engine.dialect.name == "postgresql":
            session.execute(text(f"SET TIME ZONE '{zone}'"))
        fast = versions_module.versions(session, "m")
        typed = versions_module.versions(session, "m", text_times=False)
        assert fast == typed and len(fast) == len(w)
        assert all(type(v) is type(typed[0]) and v.end.tzinfo == timezone.utc for v in fast)
        assert [v.end.microsecond for v in fast[1:7]] == [1, 123_456, 123_400, 120_000, 500_000, 0]
        assert [v.to_dict() for v in fast] == [v.to_dict() for v in typed]
        assert sorted(v.run for v in fast) == sorted(w)
        assert sum(v.readers for v in fast) == 7 and {v.version for v in fast} == {None, "a", "b"}
        for k, row in enumerate(typed):
            page = versions_module.versions(session, "m", 3, start=row.run)
            assert page == versions_module.versions(session, "m", 3, row.run, text_times=False)
            assert page == typed[k : k + 3]
        assert versions_module.versions(session, "m", 2) == typed[:2]


READS = st.lists(st.tuples(st.integers(0, 6), st.sampled_from([None, "x", "y"])), max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=WRITES, reads=READS)
def test_readers_of_the_whole_list_are_the_lineage_edges_and_each_page_agrees(store, writes, reads):
    """Writes and reads in any order of time, pinned to a version or not: each write's readers in the
    whole list (one grouped scan) are the edges the lineage rule gave (each reader's own trace), and a
    page of one from each row (a probe per row) gives the same row."""
    name = f"readers/{next(_pointers)}"
    for i, (end, v) in enumerate(writes):
        store.log(
            RunRecord(
                key=f"{name}/w{i}", component="w", start=at(-1), end=at(end), outputs=((name, v, None),)
            )
        )
    readers = [
        store.log(
            RunRecord(
                key=f"{name}/r{i}",
                component="r",
                start=at(start),
                end=at(start + 0.5),
                inputs=((name, v, None),),
            )
        )
        for i, (start, v) in enumerate(reads)
    ]
    full = store.versions(name)
    assert {v.run: v.readers for v in full if v.readers} == readers_by_trace(store, readers, name)
    assert pages_of_one(store, name) == full
