"""The one-statement trace (mltrace_core/fasttrace.py) against the general walk it stands in for, on both
backends: the same records, and the JSON shape built from plain rows equal to ``Trace.to_dict()``."""

from __future__ import annotations

import dataclasses
import gc
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from mltrace_core import ExternalIdentity, NotFoundError, RunRecord, fasttrace, lineage
from mltrace_core.queries import INDEX_WALK
from mltrace_core.records import Run
from tests.support.lineages import layered
from tests.support.stores import driver_connection
from tests.support.timeline import at


def both_ways(store, address: str):
    """(the general walk's trace, the fast trace, the fast JSON shape) of ``address``."""
    where = store.resolve(address)
    output = where.pointer if where.pointer is not None else where.address
    with store.session() as s:
        general = lineage.walk(s, output, [where.run], "upstream", None)
        fast = fasttrace.trace(s, where.run, output)
        data = fasttrace.trace_data(s, where.run, output)
    return general, fast, data


def assert_same(store, address: str) -> bool:
    """Every path equal to the general walk; whether the one by name answered."""
    general, fast, data = both_ways(store, address)
    assert fast == general
    assert [type(n.run) for n in fast.nodes] == [type(n.run) for n in general.nodes]
    assert fast.to_dict() == general.to_dict()
    assert data == general.to_dict()
    assert store.trace(address) == general
    assert store.trace_data(address) == general.to_dict()
    name = fasttrace.plain_name(address)
    if name is not None:  # the one-round-trip path by name, when it answers
        named = store._fast_read(fasttrace.trace_named, name)
        assert named is None or named == general
        data = store._fast_read(fasttrace.trace_data_named, name)
        assert data is None or data == general.to_dict()
        return named is not None
    return False


def test_layered_lineage_matches_the_general_walk(store):
    lineage_ = layered(store, layers=6, width=7, fan_in=3)
    assert assert_same(store, lineage_.output)
    with pytest.raises(NotFoundError):  # the general path answers an unknown pointer
        store.trace("no/such/pointer")
    with pytest.raises(NotFoundError):
        store.trace_data("no/such/pointer")
    only_read = lineage_.output + ".unread"
    store.log(
        RunRecord(key="reader", component="r", start=at(0), end=at(1), inputs=((only_read, None, None),))
    )
    assert store.trace(only_read).nodes == () and store.trace_data(only_read)["nodes"] == []
    assert_same(store, f"run:{lineage_.ids[(3, 2)]}")  # a trace from inside the lineage


def test_every_kind_of_run_field_matches(store, log):
    """Versions (pinned and not), stale inputs (age, a newer version), failed runs, notes, code versions,
    external identities, a pointer read twice over, several producers of one consumer."""
    v1 = log("ingest", [], [("raw.csv", "v1"), "schema.json"], 0, 1)
    log("ingest", [], [("raw.csv", "v2")], 2, 3)
    old = log("config", [], ["params.yaml"], 0, 1, notes="old params")
    train = log(
        "train",
        [("raw.csv", "v1"), "params.yaml", "schema.json"],
        ["model.pkl", "metrics.json"],
        60 * 24 * 40,
        60 * 24 * 40 + 5,
        status="failed",
        code_version="abc123",
        external=ExternalIdentity("ml", "manual__1", "train", 2, -1, "http://x/dags/ml"),
    )
    log("evaluate", ["model.pkl", "metrics.json", "schema.json"], ["report.html"], 60 * 24 * 41)
    general, fast, _ = both_ways(store, "report.html")
    assert {n.run.id for n in fast.nodes} >= {v1, old, train}
    stale = {n.run.id: n.run.stale for n in fast.nodes}
    assert any("newer version of raw.csv" in w for w in stale[train])
    assert any("params.yaml was produced" in w for w in stale[train])
    assert assert_same(store, "report.html") is False  # a pinned read: the general path answers
    assert_same(store, "raw.csv@v1")


def test_runs_logged_through_the_0_17_api_keep_its_staleness_rules(store):
    first = store.log(
        RunRecord(key="a", component="prep", start=at(0), end=at(1), outputs=(("x", None, None),))
    )
    store.log(
        RunRecord(
            key="b",
            component="fit",
            start=at(0) + timedelta(days=3),
            end=at(0) + timedelta(days=3, minutes=1),
            inputs=(("x", None, None),),
            outputs=(("y", None, None),),
            staleness_threshold=3600,
        )
    )
    general, fast, _ = both_ways(store, "y")
    assert any(f"(ID {first}) was run 3 days ago" in w for w in fast.nodes[0].run.stale)
    assert assert_same(store, "y")  # the one statement counts what 0.17's rules count


def test_every_rule_of_0_17_and_the_stores_own_in_one_trace(store, log):
    """Runs with a threshold (0.17's API) among runs without: fresher runs of an upstream component
    (one, several), an upstream run older than the threshold, one older than 30 days (the store's rule,
    replaced by 0.17's for a run with a threshold), a pinned read by a run with a threshold (0.17's
    rules do not look at versions: still one statement), a run with a threshold and no inputs."""
    day = 60 * 24
    log("prep", [], ["x"], 0, staleness_threshold=3600)  # a threshold, no inputs: no messages
    log("prep", [], ["other"], 2 * day)  # a fresher run of prep that x's readers did not read
    log("prep", [], ["another"], 3 * day)
    log("cfg", [], [("params", "v1")], 0)
    log("fit", ["x", ("params", "v1")], ["model"], 40 * day, staleness_threshold=5 * day)
    log("fit", ["x"], ["model.old"], 35 * day)  # no threshold: the store's 30-day rule
    log("score", ["model", "model.old"], ["report"], 41 * day, staleness_threshold=3600)
    general, fast, _ = both_ways(store, "report")
    stale = {n.run.id: n.run.stale for n in fast.nodes}
    assert any("fresher runs that began" in w for found in stale.values() for w in found)
    assert any("was produced 34 days before" in w for found in stale.values() for w in found)
    assert assert_same(store, "report")
    assert assert_same(store, "model")


def test_0_17_rules_judge_a_producer_read_through_two_pointers_once(store, log):
    """The fresher-run counts come per lineage edge (with the inputs): a run of 0.17's API reading two
    outputs of one upstream run gets that run's message once, as the general path gives it."""
    day = 60 * 24
    prep = log("prep", [], ["features", "labels"], 0)
    log("prep", [], ["unread"], day)  # a fresher run of prep
    fit = log("fit", ["features", "labels"], ["model"], 2 * day, staleness_threshold=5 * 86400)
    general, fast, _ = both_ways(store, "model")
    run = next(n.run for n in fast.nodes if n.run.id == fit)
    assert run.stale == (f"prep (ID {prep}) has 1 fresher run that began before this component run started.",)
    assert assert_same(store, "model")


def test_a_runs_edges_and_producers_come_in_their_order_not_their_inputs_order(store, log):
    """A run's inputs come from the database in pointer order; its edges and producers are sorted by
    producer: here the first pointer ``q`` is written last, so the two orders differ."""
    log("mk", [], ["q"], 0)  # creates q first (the lower pointer id)
    second = log("w", [], ["r"], 1)
    latest = log("mk", [], ["q"], 2)  # q's producer has the higher run id
    reader = log("read", ["q", "r"], ["out"], 3)
    general, fast, _ = both_ways(store, "out")
    run = next(n.run for n in fast.nodes if n.run.id == reader)
    assert run.dependencies == (second, latest)
    assert [(e.producer, e.via) for e in fast.edges if e.consumer == reader] == [(second, "r"), (latest, "q")]
    assert assert_same(store, "out")


def test_record_fields_are_the_dataclasses_fields():
    """The trace fills its records' dicts by these names, in this order."""
    assert fasttrace.RUN_FIELDS == tuple(f.name for f in dataclasses.fields(Run))
    assert fasttrace._EXTERNAL_FIELDS == tuple(f.name for f in dataclasses.fields(ExternalIdentity))


def test_single_run_and_diamond(store, log):
    log("solo", [], ["alone"], 0)
    assert assert_same(store, "alone")
    a = log("a", [], ["p"], 0)
    log("b", ["p"], ["q"], 2)
    log("c", ["p"], ["r"], 2)
    log("d", ["q", "r", "p"], ["s"], 4)
    general, fast, _ = both_ways(store, "s")
    assert [n.depth for n in fast.nodes if n.run.id == a] == [1]  # its shortest distance
    assert assert_same(store, "s")


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_a_truncated_trace_takes_the_general_walk(store, depth):
    lineage_ = layered(store, layers=5, width=3, prefix="t")
    assert store.trace_data(lineage_.output, depth) == store.trace(lineage_.output, depth).to_dict()
    assert store.trace(lineage_.output, depth).truncated


def test_inputs_with_and_without_producers_in_one_column(store, log):
    """A run's edges are read with its inputs (an edge is an input that has a producer): inputs nobody
    wrote beside ones somebody did, two pointers from one producer (edges sorted by pointer within a
    producer), a run without inputs, one without outputs, and a pinned read nobody wrote."""
    log("ext", [], ["b.csv", "a.csv"], 0)
    log("solo", [], ["c.csv"], 0)
    log("join", ["a.csv", "never-written", "b.csv", "c.csv", ("pinned-unwritten", "v9")], ["j"], 2)
    sink = log("sink", ["j", "also-never-written"], [], 4)
    log("report", ["j"], ["r"], 4)
    general, fast, _ = both_ways(store, "r")
    join = next(n.run for n in fast.nodes if n.run.component == "join")
    assert join.inputs == ("a.csv", "b.csv", "c.csv", "never-written", "pinned-unwritten")
    assert [e.via for e in fast.edges if e.consumer == join.id] == ["a.csv", "b.csv", "c.csv"]
    assert assert_same(store, "r")
    assert_same(store, f"run:{sink}")  # a run without outputs starts a trace by its id


def test_runs_with_and_without_an_identity_in_one_trace(store):
    """Every run gets an OpenLineage run id now; a store from before that holds runs with no identity
    beside runs with one (the identities are built by counts when all or none have one, else row by row)."""
    lineage_ = layered(store, layers=3, width=3, prefix="ids")
    assert all(n.run.external is not None for n in store.trace(lineage_.output).nodes)
    assert assert_same(store, lineage_.output)
    bare = [lineage_.ids[(0, 1)], lineage_.ids[(1, 2)]]
    with store.session() as s:
        s.execute(
            text("UPDATE component_runs SET ext_ol_run_id = NULL WHERE id IN (:a, :b)"),
            {"a": bare[0], "b": bare[1]},
        )
        s.commit()
    externals = {n.run.id: n.run.external for n in store.trace(lineage_.output).nodes}
    assert [rid for rid, external in externals.items() if external is None] == sorted(bare, reverse=True)
    assert assert_same(store, lineage_.output)
    with store.session() as s:
        s.execute(text("UPDATE component_runs SET ext_ol_run_id = NULL"))
        s.commit()
    assert all(n.run.external is None for n in store.trace(lineage_.output).nodes)
    assert assert_same(store, lineage_.output)


def test_a_trace_leaves_the_garbage_collector_as_it_found_it(store):
    """The collector is paused while a trace is built (fasttrace.uncollected), and only then."""
    lineage_ = layered(store, layers=2, width=2, prefix="gc")
    assert gc.isenabled()
    seen = []
    store.trace(lineage_.output)
    seen.append(gc.isenabled())
    gc.disable()
    try:
        store.trace(lineage_.output)
        seen.append(gc.isenabled())
    finally:
        gc.enable()
    assert seen == [True, False]


def test_the_prepared_trace_survives_a_dropped_statement(store):
    """PostgreSQL's trace by name is a statement prepared once per connection: a connection whose
    statement was dropped (a pooler, DISCARD ALL) or prepared unknown to this process prepares it again
    or uses it, and one that has another version's statement does not use that; inside a transaction
    the plain statement answers the same."""
    lineage_ = layered(store, layers=3, width=2, prefix="prep")
    expected = store.trace(lineage_.output)
    assert store.trace(lineage_.output) == expected  # the statement prepared by the first, used
    if store.engine.dialect.name != "postgresql":
        return
    with driver_connection(store) as conn:
        cursor = conn.cursor()
        assert fasttrace.trace_named(cursor, "postgresql", lineage_.output) == expected
        cursor.execute("DEALLOCATE ALL")
        # a statement of another version of fasttrace, under its name then: ours has its own
        cursor.execute("PREPARE mltrace_trace_named(text) AS SELECT $1")
        assert fasttrace.trace_named(cursor, "postgresql", lineage_.output) == expected
        cursor.execute("DEALLOCATE ALL")
        assert fasttrace.trace_named(cursor, "postgresql", lineage_.output) == expected
        fasttrace.NAMED.forget(conn)
        assert fasttrace.trace_named(cursor, "postgresql", lineage_.output) == expected
        conn.autocommit = False  # inside a transaction: never prepared
        fasttrace.NAMED.forget(conn)
        assert fasttrace.trace_named(cursor, "postgresql", lineage_.output) == expected
        conn.rollback()
        cursor.close()


def test_0_17_rules_with_nothing_to_say_replace_the_stores_own(store, log):
    """Runs logged through 0.17's API closer together than their thresholds, each reading the latest
    upstream run: told quiet for the whole trace at once. The store's 30-day rule would warn of an input
    40 days old; 0.17's rules, which replace it for such a run, have nothing to say within 100 days."""
    day = 60 * 24
    log("prep", [], ["x"], 0, staleness_threshold=100 * 86400)
    fit = log("fit", ["x"], ["model"], 40 * day, staleness_threshold=100 * 86400)
    log("score", ["model"], ["report"], 41 * day, staleness_threshold=100 * 86400)
    general, fast, _ = both_ways(store, "report")
    assert {n.run.id: n.run.stale for n in fast.nodes}[fit] == ()
    assert assert_same(store, "report")
    log("prep", [], ["y"], 40 * day)  # a run without a threshold: the store's rule still warns of it
    log("mix", ["y", "report"], ["mixed"], 80 * day)
    general, fast, _ = both_ways(store, "mixed")
    mix = next(n.run for n in fast.nodes if n.run.component == "mix")
    assert any("y was produced" in w for w in mix.stale), mix.stale
    assert assert_same(store, "mixed")


def test_times_to_the_microsecond_in_any_session_time_zone(store):
    """The trace reads its times as UTC text (fasttrace._sql): every fraction of a second as logged, and
    on PostgreSQL whatever the session's time zone."""
    logged = []
    for k, micro in enumerate((0, 1, 100, 120_000, 500_000, 999_999)):
        start = at(k) + timedelta(microseconds=micro)
        end = start + timedelta(seconds=30, microseconds=999_999 - micro)
        inputs = ((f"us/{k - 1}", None, None),) if k else ()
        output = ((f"us/{k}", None, None),)
        store.log(
            RunRecord(key=f"us{k}", component=f"us{k}", start=start, end=end, inputs=inputs, outputs=output)
        )
        logged.append((start, end))
    assert assert_same(store, "us/5")
    expected = store.trace("us/5")
    assert sorted((n.run.start, n.run.end) for n in expected.nodes) == logged
    if store.engine.dialect.name != "postgresql":
        return
    with driver_connection(store) as conn:
        cursor = conn.cursor()
        cursor.execute("SET TIME ZONE 'Asia/Kolkata'")
        assert fasttrace.trace_named(cursor, "postgresql", "us/5") == expected
        conn.autocommit = False  # the plain statement, inside a transaction
        cursor.execute(
            "SELECT run_id FROM run_outputs o JOIN pointers p ON p.id = o.pointer_id WHERE p.name = 'us/5'"
        )
        (start,) = cursor.fetchone()
        walk = fasttrace._Walk(fasttrace._fetch(cursor, "postgresql", {"start": start}))
        assert sorted(zip(walk.starts, walk.ends, strict=True)) == logged
        cursor.execute("SET TIME ZONE 'UTC'")  # the typed form (Python 3.10's) reads the session's zone
        cursor.execute(
            f"{INDEX_WALK}; {fasttrace._sql('postgresql', False, text_times=False)}", {"start": start}
        )
        typed = fasttrace._Walk(cursor.fetchall())
        assert isinstance(typed.columns[2][0], datetime) and (typed.starts, typed.ends) == (
            walk.starts,
            walk.ends,
        )
        conn.rollback()
        conn.autocommit = True
        cursor.execute("SET TIME ZONE 'UTC'")  # as the store's connections have it
        cursor.close()
