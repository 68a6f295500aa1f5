"""Addresses (NAME, NAME@VERSION, run:ID, as of a time) resolved on SQLite and PostgreSQL: the grammar's
order case by case, then against an independent model of it with hypothesis."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mltrace_core import AmbiguousAddressError, InvalidInputError, NotFoundError
from tests.support.timeline import at


def start(store, address, **kw) -> int | None:
    return store.resolve(address, **kw).run


def test_a_name_is_its_latest_version(store, log):
    log("train", [], [("model", "v1")], 0, 10)
    latest = log("train", [], [("model", "v2")], 20, 30)
    where = store.resolve("model")
    assert (where.kind, where.run, where.pointer, where.version) == ("pointer", latest, "model", "v2")


def test_name_at_version_is_the_writer_of_that_version(store, log):
    v1 = log("train", [], [("model", "v1")], 0, 10)
    log("train", [], [("model", "v2")], 20, 30)
    where = store.resolve("model@v1")
    assert (where.kind, where.run, where.pointer, where.version) == ("version", v1, "model", "v1")
    assert [n.run.id for n in store.trace("model@v1").nodes] == [v1]
    assert store.trace("model@v1").output == "model"


def test_version_written_by_several_runs_means_its_latest_writer(store, log):
    log("train", [], [("model", "same")], 0, 10)
    later = log("train", [], [("model", "same")], 20, 30)
    log("train", [], [("model", "other")], 40, 50)
    assert start(store, "model@same") == later


def test_ties_on_end_time_go_to_the_later_logged_run(store, log):
    log("train", [], [("model", "same")], 0, 10)
    second = log("train", [], [("model", "same")], 5, 10)
    assert start(store, "model@same") == second
    assert start(store, "model") == second


def test_run_address_is_always_a_run_id(store, log):
    first = log("train", [], ["model"], 0, 10)
    log("odd", [], [f"run:{first + 1}"], 20, 30)  # a pointer named like a run address
    log("train", [], ["model"], 40, 50)
    assert store.resolve(f"run:{first}").kind == "run"
    assert start(store, f"run:{first}") == first
    assert start(store, f"run:{first + 1}") == first + 1  # the run, not the pointer of that name
    assert [n.run.id for n in store.trace(f"run:{first}").nodes] == [first]
    with pytest.raises(NotFoundError, match="no run with id 999"):
        store.resolve("run:999")


def test_a_whole_pointer_name_wins_over_a_split(store, log):
    log("a", [], [("user", "host.csv")], 0, 10)
    whole = log("b", [], ["user@host.csv"], 0, 10)
    assert store.resolve("user@host.csv").kind == "pointer"
    assert start(store, "user@host.csv") == whole
    assert store.trace("user@host.csv").output == "user@host.csv"


def test_a_version_with_an_at_sign_in_it(store, log):
    v = log("a", [], [("model", "sha@256:ab")], 0, 10)
    log("b", [], [("model", "plain")], 20, 30)
    where = store.resolve("model@sha@256:ab")
    assert (where.pointer, where.version, where.run) == ("model", "sha@256:ab", v)


def test_more_than_one_split_is_an_error_listing_run_addresses(store, log):
    one = log("a", [], [("a@b", "c")], 0, 10)
    two = log("b", [], [("a", "b@c")], 0, 10)
    with pytest.raises(AmbiguousAddressError) as err:
        store.resolve("a@b@c")
    assert err.value.candidates == (f"run:{two}", f"run:{one}")  # splits from the left: 'a' first
    assert f"run:{one}" in str(err.value) and f"run:{two}" in str(err.value)
    assert isinstance(err.value, InvalidInputError)


def test_unknown_version_lists_the_known_ones(store, log):
    log("train", [], [("model", "v1")], 0, 10)
    log("train", [], [("model", "v2")], 20, 30)
    with pytest.raises(NotFoundError, match="no version 'v9' of 'model'.*'v2', 'v1'"):
        store.resolve("model@v9")
    with pytest.raises(NotFoundError, match="no pointer named 'nothing@v1'"):
        store.resolve("nothing@v1")


def test_a_version_only_read_is_not_a_version_of_the_pointer(store, log):
    log("read", [("raw", "r1")], [], 0, 10)
    with pytest.raises(NotFoundError, match="no version 'r1' of 'raw'"):
        store.resolve("raw@r1")


def test_as_of_picks_the_latest_writer_that_ended_by_then(store, log):
    first = log("train", [], [("model", "v1")], 0, 10)
    second = log("train", [], [("model", "v2")], 20, 30)
    assert start(store, "model", as_of=at(10)) == first  # ending exactly at TIME counts
    assert start(store, "model", as_of=at(29.99)) == first
    assert start(store, "model", as_of=at(30)) == second
    assert start(store, "model", as_of=at(10).isoformat().replace("+00:00", "Z")) == first
    assert start(store, "model", as_of="2026-01-01T00:30:00") == second  # no zone: UTC
    # Forms Python 3.10's datetime.fromisoformat refuses: Z, a fraction of other than 3 or 6 digits.
    assert start(store, "model", as_of="2026-01-01T00:29:59.9Z") == first
    assert start(store, "model", as_of="2026-01-01T00:30Z") == second
    assert start(store, "model", as_of="2026-01-01T00:30:00.000000001+00:00") == second
    assert start(store, "model", as_of="2026-01-01T01:29:59+01:00") == first
    assert start(store, "model", as_of="0s") == second
    with pytest.raises(NotFoundError, match="nothing had written 'model' by 2026-01-01 00:09:59 UTC"):
        store.resolve("model", as_of=at(10) - timedelta(seconds=1))


def test_as_of_keeps_todays_lineage_above_the_start(store, log):
    old = log("ingest", [], ["raw"], 0, 5)
    model = log("train", ["raw"], ["model"], 30, 31)
    log("train", ["raw"], ["model"], 50, 51)
    late = log("ingest", [], ["raw"], 10, 20)  # logged after the fact: the lineage above moves to it
    assert [n.run.id for n in store.trace("model", as_of=at(40)).nodes] == [model, late]
    assert old not in {n.run.id for n in store.trace("model", as_of=at(40)).nodes}


def test_as_of_with_a_version_or_a_run_is_an_error(store, log):
    run = log("train", [], [("model", "v1")], 0, 10)
    for address in ("model@v1", f"run:{run}"):
        with pytest.raises(InvalidInputError, match="as_of applies to a pointer name"):
            store.resolve(address, as_of="1d")


@pytest.mark.parametrize("bad", ["yesterday", "2y", "-2d", "2026-13-01", "", "2 d"])
def test_unreadable_times_are_refused(store, log, bad):
    log("train", [], ["model"], 0, 10)
    with pytest.raises(InvalidInputError, match="as_of"):
        store.trace("model", as_of=bad)


def test_relative_times_count_back_from_now(store, log):
    from mltrace_core.validation import point_in_time

    now = at(60 * 24 * 30)
    assert point_in_time("2d", now=now) == now - timedelta(days=2)
    assert point_in_time("90s", now=now) == now - timedelta(seconds=90)
    assert point_in_time("15m", now=now) == now - timedelta(minutes=15)
    assert point_in_time("6h", now=now) == now - timedelta(hours=6)
    assert point_in_time("1w", now=now) == now - timedelta(weeks=1)
    log("train", [], ["model"], 0, 10)  # 2026-01-01: long before now
    assert store.trace("model", as_of="1d").nodes


def test_a_pointer_nobody_wrote_traces_empty_but_has_nothing_as_of(store, log):
    log("read", ["raw"], [], 0, 10)
    assert store.resolve("raw").run is None
    assert store.trace("raw").nodes == ()
    with pytest.raises(NotFoundError, match="nothing had written 'raw'"):
        store.resolve("raw", as_of=at(100))


# -- the grammar against a model of it -------------------------------------------------------------
TOKENS = st.text(alphabet="ab@", min_size=1, max_size=4).filter(lambda t: t.strip("@") == t)
WRITES = st.lists(st.tuples(TOKENS, st.one_of(st.none(), TOKENS), st.integers(0, 5)), min_size=1, max_size=8)
_worlds = itertools.count()


def expected(writes, address):
    """What the grammar says ``address`` resolves to, from the writes alone: a run id, or an error type
    and, for an ambiguous address, the candidate runs."""
    names = {name for name, _, _, _ in writes}

    def latest(rows):
        return max(rows, key=lambda w: (w[2], w[3]))[3] if rows else None

    if address in names:
        return ("run", latest([w for w in writes if w[0] == address]))
    matches = []
    for i, ch in enumerate(address):
        left, right = address[:i], address[i + 1 :]
        rows = [w for w in writes if ch == "@" and w[0] == left and w[1] == right]
        if rows:
            matches.append(latest(rows))
    if len(matches) > 1:
        return ("ambiguous", tuple(matches))
    if matches:
        return ("run", matches[0])
    return ("missing", None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=WRITES, probes=st.lists(st.tuples(TOKENS, st.one_of(st.none(), TOKENS)), max_size=6))
def test_resolution_follows_the_grammar(store, writes, probes):
    from mltrace_core import RunRecord

    world = f"w{next(_worlds)}/"  # every example its own pointers, in one store
    logged = []
    for i, (name, version, end) in enumerate(writes):
        run = store.log(
            RunRecord(
                key=f"{world}{i}",
                component="writer",
                start=at(0),
                end=at(end),
                outputs=((world + name, version, None),),
            )
        )
        logged.append((world + name, version, end, run))
    addresses = {world + n for n, _, _ in writes} | {world + n + "@" + v for n, v in probes if v}
    addresses |= {world + n + "@" + v for n, v, _ in writes if v} | {world + n for n, _ in probes}
    for address in sorted(addresses):
        kind, want = expected(logged, address)
        if kind == "run":
            assert store.resolve(address).run == want, address
        elif kind == "ambiguous":
            with pytest.raises(AmbiguousAddressError) as err:
                store.resolve(address)
            assert err.value.candidates == tuple(f"run:{r}" for r in want)
        else:
            with pytest.raises(NotFoundError):
                store.resolve(address)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ends=st.lists(st.integers(0, 6), min_size=1, max_size=6), when=st.integers(-1, 7))
def test_as_of_is_the_latest_writer_ended_by_then(store, ends, when):
    from mltrace_core import RunRecord

    name = f"as-of/{next(_worlds)}"
    runs = [
        (
            end,
            store.log(
                RunRecord(
                    key=f"{name}/{i}", component="w", start=at(-1), end=at(end), outputs=((name, None, None),)
                )
            ),
        )
        for i, end in enumerate(ends)
    ]
    eligible = [r for r in runs if r[0] <= when]
    if not eligible:
        with pytest.raises(NotFoundError):
            store.resolve(name, as_of=at(when))
    else:
        assert store.resolve(name, as_of=at(when)).run == max(eligible)[1]
