"""The durable spool: what the store could not take is kept, then replayed once, with nothing lost."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

import mltrace_core
from mltrace_core import ExternalIdentity, RunRecord, Spool, StoreUnavailableError
from mltrace_core.cli import cli
from mltrace_core.spool import deliver
from tests.support.timeline import at

DEAD = "postgresql://postgres@127.0.0.1:9/nothing"  # nothing listens on port 9


def record(i: int, **kw) -> RunRecord:
    return RunRecord(
        key=f"airflow:dag:run:t{i}:-1:1",
        component=f"dag.t{i}",
        start=at(i * 2),
        end=at(i * 2 + 1),
        inputs=((f"p{i}", None, None),) if i else (),
        outputs=((f"p{i + 1}", None, None),),
        external=ExternalIdentity("dag", "run", f"t{i}", 1, -1),
        **kw,
    )


def test_dead_store_spools_within_the_time_bound(tmp_path):
    dead = mltrace_core.Store(DEAD, timeout=2)
    box = Spool(tmp_path / "spool")
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailableError):
        deliver(dead, record(0), box)
    assert time.monotonic() - t0 < 3
    (path,) = box.pending()
    assert json.loads(path.read_text())["key"] == record(0).key


def test_replay_restores_every_run_once(store, tmp_path):
    box = Spool(tmp_path / "spool")
    for i in (2, 0, 1):  # spooled out of order: lineage is still right
        box.put(record(i))
    box.put(record(1))  # the same try spooled twice is one file
    assert len(box.pending()) == 3
    result = box.replay(store)
    assert (result.replayed, result.remaining, box.pending()) == (3, 0, [])
    assert [n.run.component for n in store.trace("p3").nodes] == ["dag.t2", "dag.t1", "dag.t0"]
    for i in range(3):  # replaying again adds nothing
        box.put(record(i))
    box.replay(store)
    assert len(store.get_recent_run_ids(100)) == 3


def test_successful_write_replays_what_was_spooled(store, tmp_path):
    box = Spool(tmp_path / "spool")
    box.put(record(0))
    deliver(store, record(1), box)
    assert box.pending() == []
    assert len(store.get_recent_run_ids(10)) == 2


def test_replay_into_a_dead_store_keeps_everything(tmp_path):
    box = Spool(tmp_path / "spool")
    box.put(record(0))
    box.put(record(1))
    result = box.replay(mltrace_core.Store(DEAD, timeout=1))
    assert result.remaining == 2 and len(box.pending()) == 2
    assert "unavailable" in result.why and "127.0.0.1" in result.why  # says why, from the store's error
    cli_result = CliRunner().invoke(cli, ["--db-uri", DEAD, "spool", "replay", "--dir", str(box.directory)])
    assert (
        cli_result.exit_code == 1
        and "2 remain in" in cli_result.stderr
        and "unavailable" in cli_result.stderr
    )


def test_unreadable_record_is_set_aside(store, tmp_path):
    box = Spool(tmp_path / "spool")
    box.put(record(0))
    (tmp_path / "spool" / "garbage.json").write_text("{not json")
    result = box.replay(store)
    assert (result.replayed, result.rejected) == (1, 1)
    assert (tmp_path / "spool" / "rejected" / "garbage.json").exists()


def test_cli_spool_replay(store, tmp_path):
    box = Spool(tmp_path / "spool")
    box.put(record(0))
    runner = CliRunner()
    status = runner.invoke(cli, ["spool", "status", "--dir", str(box.directory)])
    assert "1 spooled runs" in status.stdout
    result = runner.invoke(cli, ["--db-uri", store.uri, "spool", "replay", "--dir", str(box.directory)])
    assert result.exit_code == 0 and "Replayed 1 of 1" in result.stdout
    assert store.get_recent_runs(1)[0].external.task_id == "t0"
