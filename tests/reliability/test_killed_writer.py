"""A task process killed while it writes its run leaves nothing half-written: a run is visible with all
its inputs, outputs and lineage, or not at all."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import mltrace_core
from tests.reliability.oracle import expected_dependencies, snapshot

pytestmark = pytest.mark.slow

WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timedelta, timezone
    import mltrace_core
    uri, prefix = sys.argv[1], sys.argv[2]
    store = mltrace_core.Store(uri)
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    i = 0
    while True:  # runs with many pointers: long transactions, easy to interrupt half-way
        start = t0 + timedelta(minutes=int(prefix) * 100_000 + i)
        store.log(mltrace_core.RunRecord(
            key=f"{prefix}-{i}", component="wide", start=start, end=start + timedelta(seconds=30),
            inputs=tuple((f"in/{(i + k) % 97}", None, None) for k in range(40)) + ((f"chain/{i}", None, None),),
            outputs=tuple((f"out/{prefix}/{i}/{k}", None, None) for k in range(40)) + ((f"chain/{i + 1}", None, None),),
        ))
        print(i, flush=True)
        i += 1
    """
)


@pytest.mark.timeout(300)
def test_killed_writer_leaves_no_partial_run(store_uri):
    mltrace_core.Store(store_uri).upgrade()
    rng = random.Random(11)
    for round_ in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, store_uri, str(round_ + 1)], stdout=subprocess.PIPE, text=True
        )
        proc.stdout.readline()  # it is writing
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
    store = mltrace_core.Store(store_uri)
    times, reads, writes, stored = snapshot(store)
    assert len(times) >= 6
    for rid in times:
        assert len(reads[rid]) == 41 and len(writes[rid]) == 41, f"run {rid} is partial"
    assert stored == expected_dependencies(times, reads, writes)
    assert len(store.trace("chain/1").nodes) == 1
    store.dispose()
