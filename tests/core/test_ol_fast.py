"""The shortcuts of ingestion's hot path give what the long way gives (issue 11's Speed section):

- a merged run's record is built checked (``RunState.record`` no longer calls ``RunRecord.checked``):
  it must equal its own ``.checked()`` for any events;
- JSON Lines are decoded by orjson when it is installed: the same value as ``json.loads`` or, where
  orjson refuses or would read a number differently, json decides;
- a dataset named again is taken from the cache of recent datasets: the same pointer as the first time,
  and a bad name is refused every time, with its field.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mltrace_core import InvalidEventError
from mltrace_core.openlineage import parse
from mltrace_core.openlineage import state as ol_state
from mltrace_core.openlineage.files import Malformed, _decode
from tests.support.openlineage import airflow_facets, dataset, error_facet, event, new_id

names = st.sampled_from(["/data/a.csv", "/data/../b.csv", "//c//d", "s3://bucket/k", "file:///x/y", "t", "é"])
versions = st.sampled_from([None, "v1", "2", "x" * 256])
datasets = st.lists(
    st.tuples(names, st.sampled_from(["file", "mltrace", "s3://bucket", "postgres://h:5432"]), versions),
    max_size=4,
).map(lambda items: [dataset(n, ns, v) for n, ns, v in items])
errors = st.one_of(st.none(), st.text(max_size=50), st.just("a\x00b"), st.just("e" * 70_000))


@st.composite
def run_events(draw):
    rid = new_id()
    facets = draw(st.sampled_from([None, "airflow", "dotted"]))
    events = []
    for kind in draw(
        st.lists(
            st.sampled_from(["START", "RUNNING", "COMPLETE", "FAIL", "ABORT", None]), min_size=1, max_size=4
        )
    ):
        run_facets: dict = {}
        if facets == "airflow":
            run_facets.update(airflow_facets("dag", "task", try_number=draw(st.integers(1, 3))))
        elif facets == "dotted":
            run_facets.update(airflow_facets("d.a.g", "t.a.s.k", map_index=draw(st.integers(-1, 5))))
        message = draw(errors)
        if message is not None:
            run_facets.update(error_facet(message))
        events.append(
            event(
                kind,
                rid,
                draw(st.floats(0, 100, allow_nan=False)),
                draw(st.sampled_from(["job", "dag.task", "dag.task.query.1"])),
                inputs=draw(datasets),
                outputs=draw(datasets),
                run_facets=run_facets,
            )
        )
    return events


@settings(max_examples=200, deadline=None)
@given(events=run_events(), pointers=st.booleans())
def test_a_merged_runs_record_is_already_checked(events, pointers):
    state = None
    for e in events:
        state = ol_state.merge(state, parse(e))
    assert state is not None
    record = state.record(pointers=pointers)
    assert record == record.checked()
    assert record.error is None or len(record.error) <= 65_536


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_a_line_decodes_to_what_json_reads(value):
    text = json.dumps(value)
    assert _decode(text) == json.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"v": 123456789012345678901234567890}',  # beyond 64 bits: orjson would read a float
        '{"v": -9223372036854775809}',
        '{"v": 1.5e400}',
        '"\\ud800"',
        '{"a": 1, "a": 2}',
        '{"a": NaN}',
        '{"a": 1} x',
        "[1, 2",
    ],
)
def test_lines_orjson_reads_otherwise_are_left_to_json(text):
    try:
        expected = json.loads(text, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    except ValueError:
        assert isinstance(_decode(text), Malformed)
    else:
        assert _decode(text) == expected and type(_decode(text)) is type(expected)


def test_a_dataset_named_again_is_the_same_pointer_and_a_bad_one_is_refused_each_time():
    good = event("START", new_id(), 0, inputs=[dataset("/a/../b.csv"), dataset("k", "s3://bucket")])
    first, again = parse(good), parse(good)
    assert [p.name for p in first.inputs] == [p.name for p in again.inputs] == ["/b.csv", "s3://bucket/k"]
    bad = event("START", new_id(), 0, inputs=[dataset("/ok"), dataset("a\nb", "s3://b")])
    for _ in range(2):
        with pytest.raises(InvalidEventError, match=r"inputs\[1\]\.name"):
            parse(bad)


# -- PostgreSQL: the two functions of schema 0011 against the general path ---------------------------------
def dump(store, prefix: str) -> dict:
    """Everything ingestion writes about the runs whose component starts with ``prefix``, by key (ids may
    differ between two stores): run rows, reads, writes, lineage edges, pending states, tags."""
    from sqlalchemy import text

    with store.session() as s:
        q = lambda sql: [tuple(r) for r in s.execute(text(sql), {"p": prefix + "%"})]  # noqa: E731
        return {
            "runs": sorted(
                q(
                    "SELECT r.key, c.name, r.start_ts, r.end_ts, r.status, r.notes, r.error, r.ext_dag_id,"
                    " r.ext_run_id, r.ext_task_id, r.ext_try_number, r.ext_map_index, r.ext_url,"
                    " r.ext_ol_run_id, r.ext_ol_namespace, r.ext_ol_parent_run_id, r.git_tags::text"
                    " FROM component_runs r JOIN components c ON c.id = r.component_id WHERE c.name LIKE :p"
                )
            ),
            "reads": sorted(
                q(
                    "SELECT r.key, p.name, i.version, i.start_ts FROM run_inputs i JOIN component_runs r"
                    " ON r.id = i.run_id JOIN pointers p ON p.id = i.pointer_id WHERE p.name LIKE '/' || :p"
                )
            ),
            "writes": sorted(
                q(
                    "SELECT r.key, p.name, o.version, o.start_ts, o.end_ts FROM run_outputs o JOIN component_runs r"
                    " ON r.id = o.run_id JOIN pointers p ON p.id = o.pointer_id WHERE p.name LIKE '/' || :p"
                )
            ),
            "edges": sorted(
                q(
                    "SELECT c.key, p.name, w.key FROM run_dependencies d JOIN component_runs c"
                    " ON c.id = d.consumer_run_id JOIN component_runs w ON w.id = d.producer_run_id"
                    " JOIN pointers p ON p.id = d.pointer_id WHERE p.name LIKE '/' || :p"
                )
            ),
            "pending": sorted(
                (u, parent, state)
                for u, parent, state in q("SELECT run_uuid, parent_uuid, state FROM openlineage_runs")
                if f'"{prefix}' in state
            ),
            "tags": sorted(
                q(
                    "SELECT c.name, t.tag FROM component_tags t JOIN components c ON c.id = t.component_id"
                    " WHERE c.name LIKE :p"
                )
            ),
        }


@st.composite
def deliveries(draw, n: int):
    """Events of a few runs of one example (prefix ``x<n>``) -- tasks with and without the airflow facet,
    SQL query runs of a task, versions, failures, RUNNING, redeliveries -- in any order."""
    p = f"x{n}"
    pointers = [f"/{p}/{k}" for k in "ab"]
    ds = st.lists(st.tuples(st.sampled_from(pointers), st.sampled_from([None, "v1"])), max_size=2).map(
        lambda items: [dataset(name, version=v) for name, v in dict(items).items()]
    )
    events = []
    tasks = []
    for i in range(draw(st.integers(1, 4))):
        rid = new_id()
        facets = (
            airflow_facets(f"{p}dag", f"t{i}", try_number=draw(st.integers(1, 2)))
            if draw(st.booleans())
            else {}
        )
        job = f"{p}dag.t{i}"
        tasks.append((rid, job))
        start = 2 * i + draw(st.integers(-2, 2))  # mostly after the task before it, whose output it reads
        chain = ([dataset(f"/{p}/t{i - 1}")] if i else [], [dataset(f"/{p}/t{i}")])
        kinds = draw(
            st.sampled_from(
                [
                    ["START", "COMPLETE"],
                    ["START", "RUNNING", "COMPLETE"],
                    ["COMPLETE"],
                    ["START", "FAIL"],
                    ["START"],
                    ["START", "ABORT"],
                ]
            )
        )
        for k, kind in enumerate(kinds):
            run_facets = dict(facets)
            if kind == "FAIL":
                run_facets.update(error_facet("boom"))
            reads, writes = (chain[0], []) if kind == "START" else ([], chain[1])
            events.append(
                event(
                    kind,
                    rid,
                    start + k,
                    job,
                    inputs=reads + draw(ds),
                    outputs=writes + draw(ds),
                    run_facets=run_facets,
                )
            )
    if draw(st.booleans()):  # a SQL query run of the first task
        task_rid, task = tasks[0]
        qid = new_id()
        from tests.support.openlineage import parent_facet

        for k, kind in enumerate(["START", "COMPLETE"]):
            events.append(
                event(
                    kind,
                    qid,
                    3 + k,
                    f"{task}.query.1",
                    inputs=draw(ds),
                    outputs=draw(ds),
                    run_facets={"parent": parent_facet(task_rid, task)},
                )
            )
    order = draw(st.permutations(events + draw(st.lists(st.sampled_from(events), max_size=3))))
    return p, order


@pytest.fixture
def two_pg_stores(pg_database, fresh_pg_database):
    import mltrace_core
    from tests.support.stores import empty_pg

    empty_pg(pg_database)
    fast, slow = mltrace_core.Store(pg_database), mltrace_core.Store(fresh_pg_database)
    slow.upgrade()
    yield fast, slow
    fast.dispose()
    slow.dispose()


examples = iter(range(10**9))


@pytest.mark.postgres
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_server_side_path_writes_what_the_general_path_writes(two_pg_stores, monkeypatch, data):
    from mltrace_core.openlineage import ingest as ol_ingest

    fast, slow = two_pg_stores
    prefix, order = data.draw(deliveries(next(examples)))
    chunk = data.draw(st.sampled_from([1, 1, 2, 3]))
    for at in range(0, len(order), chunk):
        events = [parse(e) for e in order[at : at + chunk]]
        monkeypatch.setattr(ol_ingest, "SERVER_SIDE", True)
        fast.ingest(events)
        monkeypatch.setattr(ol_ingest, "SERVER_SIDE", False)
        slow.ingest(events)
    assert dump(fast, prefix) == dump(slow, prefix)
