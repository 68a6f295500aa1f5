"""The lineage rule's tie cases, enumerated: every form of the rule the store uses agrees with the oracle.

The rule (ARCHITECTURE.md) is computed in several places, each for a reason: the SQL that links a new
run to its producers, the relink of consumers when a run is logged late, the merge of a second report,
the relink of every reader of a pointer whose writer changed, the set-based lineage of a batch
(``Store.log_many``). ``tests/reliability/oracle.py`` states the
rule once, from scratch. Here every combination of the cases where the rule has to break a tie --
a writer ending exactly when the reader starts, zero-length runs at one instant, two writers ending
together, an exact version against a later end, a version on one side only -- is logged in every order
(so each is computed by the new-run path and by the late-run path), and once more with the writer's
version reported only by a second report (the merge and relink paths), and as one batch. The stored edges must be the
oracle's, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from itertools import permutations, product

import pytest

from tests.core.test_merge import assert_exact_lineage, report

# (start, end) in minutes: zero-length at the reader's start, ending at it, ending before it.
WRITER_TIMES = [(1, 1), (0, 1), (0, 0)]
# The reader starts at minute 1 (its end plays no part in what it reads); zero-length, so that it ties
# with a zero-length writer at the same instant.
READER_TIMES = [(1, 1)]
VERSIONS = [None, "a", "b"]


WRITERS = [(*t, v) for t, v in product(WRITER_TIMES, VERSIONS)]


def cases():
    """(w1, w2, reader) triples: (start, end, version) each; the reader reads "a" or any version. The
    writers are an unordered pair (every log order is tried, so (w2, w1) would repeat (w1, w2))."""
    for i, w1 in enumerate(WRITERS):
        for w2 in WRITERS[i:]:
            for tr, vr in product(READER_TIMES, [None, "a"]):
                yield w1, w2, (*tr, vr)


@pytest.mark.slow  # 1,620 durable commits: outside the one-minute inner loop, in every CI run
def test_every_tie_case_in_every_log_order_matches_the_oracle(store):
    n = 0
    for w1, w2, reader in cases():
        for order in permutations(range(3)):
            n += 1
            p = f"p{n}"
            runs = [
                report(f"{n}-w1", w1[0], w1[1], outputs=[(p, w1[2])]),
                report(f"{n}-w2", w2[0], w2[1], outputs=[(p, w2[2])]),
                report(f"{n}-r", reader[0], reader[1], inputs=[(p, reader[2])]),
            ]
            for i in order:
                store.log(runs[i])
    assert n == len(WRITERS) * (len(WRITERS) + 1) // 2 * len(READER_TIMES) * 2 * 6
    assert_exact_lineage(store)


def test_a_version_reported_by_a_second_report_relinks_as_the_oracle_says(store):
    n = 0
    for w1, w2, reader in cases():
        if w1[2] is None:
            continue
        n += 1
        p = f"q{n}"
        store.log(report(f"{n}-w2", w2[0], w2[1], outputs=[(p, w2[2])]))
        store.log(report(f"{n}-w1", w1[0], w1[1], outputs=[p]))  # its version is not known yet
        store.log(report(f"{n}-r", reader[0], reader[1], inputs=[(p, reader[2])]))
        store.log(report(f"{n}-w1", w1[0], w1[1], outputs=[(p, w1[2])]))  # now it is
    assert n > 0
    assert_exact_lineage(store)


def test_every_tie_case_logged_as_one_batch_matches_the_oracle(store):
    # Store.log_many computes the lineage of a whole batch set-based: the same cases, every log order,
    # the runs of each case interleaved in the batch as they would be logged one by one.
    batch = []
    for n, ((w1, w2, reader), order) in enumerate(product(cases(), permutations(range(3)))):
        p = f"b{n}"
        runs = [
            report(f"b{n}-w1", w1[0], w1[1], outputs=[(p, w1[2])]),
            report(f"b{n}-w2", w2[0], w2[1], outputs=[(p, w2[2])]),
            report(f"b{n}-r", reader[0], reader[1], inputs=[(p, reader[2])]),
        ]
        batch += [runs[i] for i in order]
    ids = store.log_many(batch)
    assert len(set(ids)) == len(batch)
    assert_exact_lineage(store)
