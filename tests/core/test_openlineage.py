"""OpenLineage events become runs exactly (issue 11, item 3), on SQLite and PostgreSQL: merged by run id in
any order, redeliveries change nothing, runs in progress are pending placeholders, SQL query runs fold
into their task, DAG runs are acknowledged, an Airflow try is one run whoever reports it."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mltrace_core import ComponentRun, ExternalIdentity, InvalidEventError
from mltrace_core.openlineage import parse, parse_time
from tests.reliability.oracle import expected_dependencies, snapshot
from tests.support.openlineage import (
    NAMESPACE,
    airflow_facets,
    dataset,
    error_facet,
    event,
    new_id,
    parent_facet,
    task_job,
)
from tests.support.timeline import at


def ingest(store, *events):
    return store.ingest([parse(e) for e in events])


def only_run(store):
    (run,) = store.get_recent_runs(10)
    return store.get_component_run_information(run.id)


def everything(store) -> dict:
    """The store's whole visible state, run by run (for 'changes nothing' comparisons)."""
    runs = sorted(store.get_recent_runs(1000), key=lambda r: r.id)
    return {r.id: store.get_component_run_information(r.id).to_dict() for r in runs}


# -- parsing ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e["run"].pop("runId"), "run.runId"),
        (lambda e: e["run"].update(runId="not-a-uuid"), "run.runId"),
        (lambda e: e.pop("run"), "run"),
        (lambda e: e["job"].pop("namespace"), "job.namespace"),
        (lambda e: e["job"].pop("name"), "job.name"),
        (lambda e: e["job"].update(name=""), "job.name"),
        (lambda e: e.pop("job"), "job"),
        (lambda e: e.pop("eventTime"), "eventTime"),
        (lambda e: e.update(eventTime="yesterday"), "eventTime"),
        (lambda e: e.update(eventTime=12), "eventTime"),
        (lambda e: e.update(eventType="DONE"), "eventType"),
        (lambda e: e["inputs"].append({"namespace": "file"}), "inputs[1].name"),
        (lambda e: e["outputs"].append({"name": "x"}), "outputs[0].namespace"),
        (lambda e: e["inputs"].append("x"), "inputs[1]"),
        (lambda e: e.update(inputs={"a": 1}), "inputs"),
        (lambda e: e["inputs"].append(dataset("/" + "x" * 1100)), "inputs[1].name"),
        (lambda e: e["inputs"].append(dataset("a\nb", "s3://b")), "inputs[1].name"),
        (lambda e: e["run"].update(facets=[]), "run.facets"),
    ],
)
def test_a_bad_run_event_names_its_field(mutate, field):
    body = event("START", new_id(), 0, inputs=["/in.csv"])
    mutate(body)
    with pytest.raises(InvalidEventError) as caught:
        parse(body)
    assert caught.value.field == field


@pytest.mark.parametrize("body", [[], "event", None, 3])
def test_an_event_is_an_object(body):
    with pytest.raises(InvalidEventError, match="object"):
        parse(body)


def test_dataset_and_job_events_need_their_names():
    with pytest.raises(InvalidEventError) as caught:
        parse({"eventTime": at(0).isoformat(), "dataset": {"namespace": "file"}})
    assert caught.value.field == "dataset.name"
    with pytest.raises(InvalidEventError) as caught:
        parse({"eventTime": at(0).isoformat(), "job": {"name": "j"}})
    assert caught.value.field == "job.namespace"
    assert parse(
        {"eventTime": at(0).isoformat(), "run": {"runId": new_id()}, "job": {"namespace": "n", "name": "j"}}
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T00:00:00Z", at(0)),
        ("2026-01-01T00:00:00.000000+00:00", at(0)),
        ("2026-01-01T02:00:00+02:00", at(0)),
        ("2026-01-01 00:01:00", at(1)),
        ("2026-01-01T00:00:30.123456789Z", at(0.5).replace(microsecond=123456)),
        ("2025-12-31T19:00:00-0500", at(0)),
    ],
)
def test_event_times_in_the_forms_producers_send(text, expected):
    assert parse_time(text) == expected


# -- runs -----------------------------------------------------------------------------------------------------
def test_start_and_complete_make_one_run_with_the_union_of_their_datasets(store):
    rid = new_id()
    ingest(
        store,
        event("START", rid, 0, "etl.load", inputs=["/data/in.csv"]),
        event("COMPLETE", rid, 2, "etl.load", outputs=[dataset("orders", "postgres://db:5432")]),
    )
    run = only_run(store)
    assert (run.component, run.status, run.start, run.end) == ("etl.load", "success", at(0), at(2))
    assert (run.inputs, run.outputs) == (("/data/in.csv",), ("postgres://db:5432/orders",))
    assert (run.external.openlineage_namespace, run.external.openlineage_run_id, run.external.dag_id) == (
        NAMESPACE,
        rid,
        None,
    )


def test_events_in_any_order_and_redelivered_give_the_same_store(store, store_uri, tmp_path):
    from mltrace_core import Store

    rid = new_id()
    events = [
        event("START", rid, 0, "j", inputs=["/a"]),
        event("RUNNING", rid, 1, "j", inputs=["/b"]),
        event("COMPLETE", rid, 3, "j", outputs=["/c"]),
    ]
    ingest(store, *events)
    first = everything(store)
    ingest(store, *events)  # redelivered: nothing changes
    ingest(store, events[1])
    assert everything(store) == first
    other = Store(f"sqlite:///{tmp_path / 'other.db'}")
    for e in reversed(events):  # one at a time, last first
        ingest(other, e)
    assert list(everything(other).values()) == list(first.values())
    other.dispose()


def test_a_run_in_progress_is_running_and_outside_the_lineage_until_it_ends(store, log):
    producer = log("ingest", [], ["/data/in.csv"], -5)
    rid = new_id()
    ingest(store, event("START", rid, 0, "train", inputs=["/data/in.csv"], outputs=["/m.pkl"]))
    (running,) = [r for r in store.get_recent_runs(10) if r.component == "train"]
    assert running.status == "running" and store.get_history("train")[0].status == "running"
    detail = store.get_component_run_information(running.id)
    assert (detail.inputs, detail.outputs, detail.start) == ((), (), at(0))
    assert [n.run.id for n in store.downstream("/data/in.csv").nodes] == []
    ingest(store, event("RUNNING", rid, 1, "train"))
    assert store.get_component_run_information(running.id).status == "running"
    ingest(store, event("COMPLETE", rid, 2, "train"))
    done = store.get_component_run_information(running.id)
    assert (done.status, done.inputs, done.outputs, done.dependencies) == (
        "success",
        ("/data/in.csv",),
        ("/m.pkl",),
        (producer,),
    )
    assert [n.run.id for n in store.trace("/m.pkl").nodes] == [running.id, producer]


def test_complete_without_start_makes_a_run_and_a_late_start_moves_its_start(store):
    rid = new_id()
    ingest(store, event("COMPLETE", rid, 5, "skipped", outputs=["/o"]))
    run = only_run(store)
    assert (run.status, run.start, run.end) == ("success", at(5), at(5))
    ingest(store, event("START", rid, 1, "skipped", inputs=["/i"]))
    run = only_run(store)
    assert (run.status, run.start, run.end, run.inputs, run.outputs) == (
        "success",
        at(1),
        at(5),
        ("/i",),
        ("/o",),
    )


def test_a_late_start_or_running_never_overwrites_a_terminal_state(store):
    rid = new_id()
    ingest(store, event("FAIL", rid, 5, "j", run_facets=error_facet("boom")))
    ingest(store, event("RUNNING", rid, 6, "j"), event("START", rid, 4, "j"), event("COMPLETE", rid, 7, "j"))
    run = only_run(store)
    assert (run.status, run.error, run.start, run.end) == ("failed", "boom", at(4), at(5))


def test_fail_keeps_inputs_and_error_but_no_outputs_abort_is_a_status_of_its_own(store):
    failed, aborted = new_id(), new_id()
    ingest(
        store,
        event("START", failed, 0, "f", inputs=["/in"], outputs=["/out"]),
        event("FAIL", failed, 1, "f", outputs=["/out2"], run_facets=error_facet("ValueError: no rows")),
        event("START", aborted, 0, "a", inputs=["/in"]),
        event("ABORT", aborted, 1, "a", outputs=["/out3"]),
    )
    runs = {r.component: store.get_component_run_information(r.id) for r in store.get_recent_runs(10)}
    assert (runs["f"].status, runs["f"].error, runs["f"].inputs, runs["f"].outputs) == (
        "failed",
        "ValueError: no rows",
        ("/in",),
        (),
    )
    assert (runs["a"].status, runs["a"].inputs, runs["a"].outputs) == ("aborted", ("/in",), ())
    with pytest.raises(Exception, match="no pointer"):
        store.trace("/out")  # never written by anyone: no pointer row at all


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0)])
@pytest.mark.parametrize("batched", [True, False])
def test_a_later_facet_replaces_an_earlier_one_whatever_the_arrival_order(store, order, batched):
    """Facets that differ between a run's events (a log URL, a parent, an error message) are merged by
    event time: the later one wins, and differing values never break the merge."""
    rid = new_id()

    def facets(url, dag_run, message):
        out = airflow_facets("etl", "load", dag_run_uuid=dag_run)
        out["airflow"]["taskInstance"]["log_url"] = url
        return out | error_facet(message)

    first, second = new_id(), new_id()
    events = [
        event("START", rid, 0, "etl.load", run_facets=facets("http://a/log", first, "zz early")),
        event("RUNNING", rid, 1, "etl.load", run_facets=facets("http://b/log", second, "aa later")),
        event("FAIL", rid, 2, "etl.load", run_facets=facets("http://b/log", second, "aa later")),
    ]
    delivered = [events[i] for i in order]
    if batched:
        ingest(store, *delivered)
    else:
        for e in delivered:
            ingest(store, e)
    run = only_run(store)
    assert (run.status, run.start, run.end) == ("failed", at(0), at(2))
    if batched or order[-1] == 2:  # the FAIL came last: every facet was merged before the run was written
        assert (run.external.url, run.external.openlineage_parent_run_id, run.error) == (
            "http://b/log",
            second,
            "aa later",
        )


def test_dag_run_events_are_acknowledged_not_runs(store):
    dag_run = new_id()
    result = ingest(
        store,
        event("START", dag_run, 0, "etl", job_facets=task_job("DAG"), run_facets={"airflowDagRun": {}}),
        event("COMPLETE", dag_run, 9, "etl", job_facets=task_job("DAG"), run_facets={"airflowDagRun": {}}),
    )
    assert (result.acknowledged, result.written, store.get_recent_runs(10)) == (2, 0, [])


def test_an_airflow_task_event_carries_the_try_and_its_traced_key(store):
    rid = new_id()
    facets = airflow_facets("etl.v2", "load.orders", try_number=2, map_index=3)
    ingest(
        store,
        event("START", rid, 0, "etl.v2.load.orders", run_facets=facets, job_facets=task_job()),
        event("COMPLETE", rid, 1, "etl.v2.load.orders", run_facets=facets, job_facets=task_job()),
    )
    run = only_run(store)
    assert run.component == "etl.v2.load.orders"
    ext = run.external
    assert (ext.dag_id, ext.task_id, ext.try_number, ext.map_index, ext.openlineage_run_id) == (
        "etl.v2",
        "load.orders",
        2,
        3,
        rid,
    )
    assert ext.key == ExternalIdentity("etl.v2", ext.run_id, "load.orders", 2, 3).key
    assert run.component_tags == ("etl.v2",)


def test_a_try_traced_by_mltrace_and_reported_by_the_provider_is_one_run(store):
    ext = ExternalIdentity("etl", "manual__2026-01-01T00:00:00+00:00", "train", 1, -1, "http://ti")
    traced = ComponentRun("etl.train")
    traced.external = ext
    traced.set_start_timestamp(at(0))
    traced.set_end_timestamp(at(2))
    traced.add_input("file:///data/features.csv")
    traced.add_output("/models/m.pkl", "sha256:1")
    rid = new_id()
    facets = airflow_facets("etl", "train", run_id=ext.run_id)
    ingest(store, event("START", rid, 0.1, "etl.train", inputs=["/data/features.csv"], run_facets=facets))
    first = store.log(traced)  # the traced operator writes while the provider's run is in progress
    ingest(store, event("COMPLETE", rid, 2.1, "etl.train", outputs=["/logs/extra.txt"], run_facets=facets))
    run = only_run(store)
    assert run.id == first
    assert (run.status, run.start, run.end) == ("success", at(0), at(2))
    assert dict(run.output_versions) == {"/models/m.pkl": "sha256:1", "/logs/extra.txt": None}
    assert run.external.url == "http://ti" and run.external.openlineage_run_id == rid


def test_dataset_versions_make_version_exact_lineage(store):
    w1, w2, reader = new_id(), new_id(), new_id()
    ingest(
        store,
        event("COMPLETE", w1, 1, "write", outputs=[dataset("m", "s3://models", "v1")]),
        event("COMPLETE", w2, 3, "write", outputs=[dataset("m", "s3://models", "v2")]),
        event("START", reader, 5, "read", inputs=[dataset("m", "s3://models", "v1")]),
        event("COMPLETE", reader, 6, "read"),
    )
    runs = {r.external.openlineage_run_id: r.id for r in store.get_recent_runs(10)}
    detail = store.get_component_run_information(runs[reader])
    assert (dict(detail.input_versions), detail.dependencies) == ({"s3://models/m": "v1"}, (runs[w1],))


def test_a_file_asset_and_a_provider_dataset_are_one_pointer(store, log):
    traced = log("etl.produce", [], ["file:///data/x.csv"], 0)
    rid = new_id()
    ingest(
        store,
        event("START", rid, 2, "etl.consume", inputs=[dataset("/data/x.csv")]),
        event("COMPLETE", rid, 3, "etl.consume"),
    )
    consumer = [r for r in store.get_recent_runs(10) if r.component == "etl.consume"][0]
    assert consumer.dependencies == (traced,)


# -- SQL query runs of a task -----------------------------------------------------------------------------------
def sql_query(task_uuid, n, minute, event_type, inputs=(), outputs=()):
    return event(
        event_type,
        query_ids.setdefault((task_uuid, n), new_id()),
        minute,
        f"etl.load.query.{n}",
        inputs=inputs,
        outputs=outputs,
        run_facets={"parent": parent_facet(task_uuid, "etl.load")},
    )


query_ids: dict = {}


@pytest.mark.parametrize("when", ["before", "between", "after"])
def test_sql_query_runs_fold_into_their_task_whenever_they_arrive(store, when):
    task = new_id()
    facets = airflow_facets("etl", "load")
    orders, totals = (
        dataset("db.public.orders", "postgres://db:5432"),
        dataset("db.public.totals", "postgres://db:5432"),
    )
    start = event("START", task, 0, "etl.load", run_facets=facets)
    complete = event("COMPLETE", task, 3, "etl.load", run_facets=facets)
    queries = [
        sql_query(task, 1, 1, "START", [orders], [totals]),
        sql_query(task, 1, 2, "COMPLETE", [orders], [totals]),
    ]
    order = {
        "before": [*queries, start, complete],
        "between": [start, *queries, complete],
        "after": [start, complete, *queries],
    }
    for e in order[when]:
        ingest(store, e)
    run = only_run(store)
    assert (run.component, run.status) == ("etl.load", "success")
    assert (run.inputs, run.outputs) == (
        ("postgres://db:5432/db.public.orders",),
        ("postgres://db:5432/db.public.totals",),
    )
    with store.session() as s:
        from mltrace_core.models import openlineage_runs

        assert s.execute(openlineage_runs.select()).all() == []  # nothing left pending


def test_a_failed_task_keeps_its_queries_inputs_not_their_outputs(store):
    task = new_id()
    ingest(
        store,
        sql_query(
            task,
            1,
            1,
            "COMPLETE",
            [dataset("db.s.a", "postgres://h:5432")],
            [dataset("db.s.b", "postgres://h:5432")],
        ),
        event("FAIL", task, 3, "etl.load", run_facets=airflow_facets("etl", "load")),
    )
    run = only_run(store)
    assert (run.status, run.inputs, run.outputs) == ("failed", ("postgres://h:5432/db.s.a",), ())


# -- static events ------------------------------------------------------------------------------------------------
def test_dataset_and_job_events_store_their_pointers_and_component(store):
    result = ingest(
        store,
        {
            "eventTime": at(0).isoformat(),
            "producer": "p",
            "schemaURL": "s",
            "dataset": dataset("/static/x.csv"),
        },
        {
            "eventTime": at(0).isoformat(),
            "job": {"namespace": "n", "name": "nightly.export"},
            "inputs": [dataset("/static/x.csv")],
            "outputs": [dataset("k", "s3://b")],
        },
    )
    assert (result.acknowledged, result.written) == (2, 0)
    assert store.trace("file:///static/x.csv").nodes == ()
    assert store.trace("s3://b/k").nodes == ()
    assert [c.name for c in store.get_components()] == ["nightly.export"]


# -- any order, any redelivery: the same runs, the oracle's lineage -------------------------------------------------
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_delivery_order_gives_the_same_runs_and_exact_lineage(store, data):
    n = next(examples)
    ids = [new_id() for _ in range(3)]
    events = [
        event("START", ids[0], 0, f"{n}.a", inputs=[f"/{n}/raw"]),
        event("COMPLETE", ids[0], 1, f"{n}.a", outputs=[dataset(f"/{n}/mid", version="v1")]),
        event("START", ids[1], 2, f"{n}.b", inputs=[dataset(f"/{n}/mid", version="v1")]),
        event("RUNNING", ids[1], 2.5, f"{n}.b", inputs=[f"/{n}/conf"]),
        event("COMPLETE", ids[1], 3, f"{n}.b", outputs=[f"/{n}/out"]),
        event("COMPLETE", ids[2], 4, f"{n}.c", inputs=[f"/{n}/out"]),
    ]
    deliveries = data.draw(st.permutations(events + data.draw(st.lists(st.sampled_from(events), max_size=3))))
    for chunk in _chunks(deliveries, data.draw(st.integers(1, 4))):
        ingest(store, *chunk)
    runs = {
        r.component: store.get_component_run_information(r.id)
        for r in store.get_recent_runs(1000)
        if r.component.startswith(f"{n}.")
    }
    a, b, c = runs[f"{n}.a"], runs[f"{n}.b"], runs[f"{n}.c"]
    assert [r.status for r in (a, b, c)] == ["success"] * 3
    assert (b.start, b.end, b.inputs, b.dependencies) == (at(2), at(3), (f"/{n}/conf", f"/{n}/mid"), (a.id,))
    assert (c.start, c.dependencies) == (at(4), (b.id,))
    times, reads, writes, stored = snapshot(store)
    assert stored == expected_dependencies(times, reads, writes)


examples = iter(range(10**9))


def _chunks(items, size):
    return [items[i : i + size] for i in range(0, len(items), size)]


def test_the_state_of_a_pending_run_is_plain_json(store):
    rid = new_id()
    ingest(
        store,
        event("START", rid, 0, "j", inputs=[dataset("/a", version="1")], run_facets=airflow_facets("d", "t")),
    )
    with store.session() as s:
        from mltrace_core.models import openlineage_runs

        (row,) = s.execute(openlineage_runs.select()).mappings().all()
    state = json.loads(row["state"])
    assert (row["run_uuid"], state["inputs"]["/a"][0], state["airflow"][1]["task_id"]) == (rid, "1", "t")
