"""A batch of OpenLineage events is written many runs to a statement (mltrace_core/batch.py, Store.log_many's writer):
the lineage must be exactly the rule's whatever the batches hold -- runs of one batch reading each other's
outputs, producers arriving in a later batch than their readers (a late writer takes its readers over),
runs logged through the Python API in between, versions, failed runs, redeliveries. Checked against the
oracle (tests/reliability/oracle.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mltrace_core.openlineage import parse
from tests.reliability.oracle import expected_dependencies, snapshot
from tests.support.openlineage import dataset, event, new_id

POINTERS = ("a", "b", "c", "d")

runs = st.lists(
    st.fixed_dictionaries(
        {
            "start": st.integers(0, 12),
            "length": st.integers(0, 3),
            "reads": st.lists(
                st.tuples(st.sampled_from(POINTERS), st.sampled_from([None, "v1", "v2"])), max_size=3
            ),
            "writes": st.lists(
                st.tuples(st.sampled_from(POINTERS), st.sampled_from([None, "v1", "v2"])), max_size=2
            ),
            "end": st.sampled_from(["COMPLETE", "COMPLETE", "FAIL"]),
            "start_event": st.booleans(),
        }
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=runs, data=st.data())
def test_batches_of_any_shape_give_the_rules_lineage(store, log, plan, data):
    n = next(examples)

    def ds(items):
        return [dataset(f"/{n}/{p}", version=v) for p, v in dict(items).items()]

    events = []
    for i, run in enumerate(plan):
        rid = new_id()
        if run["start_event"]:
            events.append(event("START", rid, run["start"], f"{n}.job{i}", inputs=ds(run["reads"])))
        events.append(
            event(
                run["end"],
                rid,
                run["start"] + run["length"],
                f"{n}.job{i}",
                inputs=ds(run["reads"]),
                outputs=ds(run["writes"]),
            )
        )
    order = data.draw(st.permutations(events + data.draw(st.lists(st.sampled_from(events), max_size=3))))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(order)), max_size=3)))
    logged_at = data.draw(st.sampled_from([None, *range(len(cuts))]))
    for k, (lo, hi) in enumerate(zip([0, *cuts], [*cuts, len(order)], strict=True)):
        if k == logged_at:  # a run of the Python API between two batches: the same lineage rule
            log(f"{n}.py", inputs=[f"/{n}/a"], outputs=[f"/{n}/b"], start=5, end=6)
        if order[lo:hi]:
            store.ingest([parse(e) for e in order[lo:hi]])
    times, reads, writes, stored = snapshot(store)
    assert stored == expected_dependencies(times, reads, writes)
    mine = [r for r in store.get_recent_runs(10_000) if r.component.startswith(f"{n}.job")]
    assert len(mine) == len(plan)
    assert all(r.status in ("success", "failed") for r in mine)


examples = iter(range(10**9))
