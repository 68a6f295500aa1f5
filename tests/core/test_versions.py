"""The versions of a pointer, on SQLite and PostgreSQL: one row per write, newest first, with readers."""

from __future__ import annotations

import pytest

from mltrace_core import NotFoundError


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
