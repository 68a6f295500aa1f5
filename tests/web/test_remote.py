"""Logging over HTTP (issue 11, item 5): ``set_address`` / ``MLTRACE_API_URL`` + ``MLTRACE_API_KEY`` make the
Python API write through the mltrace web API -- served here over real HTTP by uvicorn, over real stores --
bounded in time, spooled when the server cannot take the run, replayed, never doubled."""

from __future__ import annotations

import logging
import time

import pytest
from click.testing import CliRunner

import mltrace_core as mltrace
from mltrace_airflow.web import auth
from mltrace_airflow.web.app import create_app
from mltrace_core import config
from mltrace_core.cli import cli
from mltrace_core.spool import Spool
from tests.support.processes import AppServer, HungServer, free_port
from tests.web.conftest import mounted

KEY = "remote-logging-key-0123456789"


@pytest.fixture
def remote_env(monkeypatch, tmp_path):
    """The ingestion key on the server side, the same key and a private spool on the client side."""
    monkeypatch.setenv("AIRFLOW__MLTRACE__INGESTION_KEY", KEY)
    monkeypatch.setenv("MLTRACE_API_KEY", KEY)
    monkeypatch.setenv("MLTRACE_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("MLTRACE_API_TIMEOUT", "2")
    auth.ingestion_key.clear()
    yield
    mltrace.set_address(None)
    auth.ingestion_key.clear()


def serve(store, delay: float = 0.0, port: int | None = None) -> AppServer:
    return AppServer(mounted(create_app(lambda: store)), delay=delay, port=port)


def runs(store) -> list:
    return [store.get_component_run_information(r.id) for r in store.get_recent_runs(100)]


def test_the_python_api_logs_over_http(store, remote_env):
    with serve(store) as server:
        mltrace.set_address(server.base)
        with mltrace.run("remote.featurize", inputs=["file:///data/raw.csv"], outputs=["/data/features.csv"]):
            pass

        @mltrace.register("remote.train", input_vars=["features"], output_vars=["model"])
        def train(features):
            model = "/models/m.pkl"
            return model

        train("/data/features.csv")
        mltrace.create_component("remote.train", "fits the model", "ana", ["ml"])
        mltrace.tag_component("remote.train", ["nightly"])
    by_component = {r.component: r for r in runs(store)}
    assert by_component["remote.featurize"].inputs == ("/data/raw.csv",)
    assert by_component["remote.train"].dependencies == (by_component["remote.featurize"].id,)
    component = store.get_component("remote.train")
    assert (component.description, component.owner, set(component.tags)) == (
        "fits the model",
        "ana",
        {"ml", "nightly"},
    )
    assert Spool().pending() == []


def test_the_environment_names_the_server(store, remote_env, monkeypatch):
    with serve(store) as server:
        monkeypatch.setenv("MLTRACE_API_URL", server.base + "/mltrace/")
        cr = mltrace.ComponentRun("remote.env")
        cr.set_start_timestamp()
        cr.set_end_timestamp()
        run_id = mltrace.log_component_run(cr)
    assert [r.id for r in runs(store)] == [run_id]


def test_a_dead_server_spools_the_run_and_the_next_write_replays_it_once(store, remote_env, caplog):
    port = free_port()
    mltrace.set_address(f"http://127.0.0.1:{port}")
    caplog.set_level(logging.WARNING)
    with mltrace.run("while.down", outputs=["/x"]):
        pass  # the block ends normally: lineage never fails the caller
    assert len(Spool().pending()) == 1 and "spooled" in caplog.text and KEY not in caplog.text
    with serve(store, port=port) as server:  # the server comes back
        mltrace.set_address(server.base)
        with mltrace.run("after.recovery", inputs=["/x"]):
            pass
        with mltrace.run("after.recovery", inputs=["/x"]):
            pass
    names = sorted(r.component for r in runs(store))
    assert names == ["after.recovery", "after.recovery", "while.down"]
    assert Spool().pending() == []


@pytest.mark.slow  # waits out time bounds or starts a process: in the full run, not test-fast
def test_a_hung_server_costs_at_most_the_time_bound(store, remote_env):
    hung = HungServer()
    try:
        mltrace.set_address(f"http://127.0.0.1:{hung.port}")
        started = time.monotonic()
        cr = mltrace.ComponentRun("while.hung")
        cr.set_start_timestamp()
        cr.set_end_timestamp()
        assert mltrace.log_component_run(cr) is None
        assert time.monotonic() - started < 2 + 1.5
    finally:
        hung.close()
    assert len(Spool().pending()) == 1


@pytest.mark.slow  # waits out time bounds or starts a process: in the full run, not test-fast
def test_a_write_the_server_committed_but_answered_too_late_is_never_doubled(store, remote_env, monkeypatch):
    with serve(store, delay=3) as slow:  # answers after the client's 2 s bound
        mltrace.set_address(slow.base)
        with mltrace.run("slow.answer", outputs=["/y"]):
            pass
        assert len(Spool().pending()) == 1
    assert len(runs(store)) == 1  # the server did take it
    mltrace.set_address(None)
    with serve(store, port=slow.port) as server:  # `mltrace spool replay` with the address in the environment
        result = CliRunner().invoke(cli, ["spool", "replay"], env={"MLTRACE_API_URL": server.base})
    assert result.exit_code == 0, result.output
    assert "Replayed 1 of 1" in result.output
    assert [r.component for r in runs(store)] == ["slow.answer"]


def test_a_refused_credential_is_spooled_until_it_is_fixed(store, remote_env, monkeypatch):
    with serve(store) as server:
        mltrace.set_address(server.base)
        monkeypatch.setenv("MLTRACE_API_KEY", "wrong")
        with mltrace.run("bad.key"):
            pass
        assert runs(store) == [] and len(Spool().pending()) == 1
        monkeypatch.setenv("MLTRACE_API_KEY", KEY)
        with mltrace.run("good.key"):
            pass
    assert sorted(r.component for r in runs(store)) == ["bad.key", "good.key"]


def test_reads_say_where_to_read(remote_env):
    from mltrace_core.remote import RemoteStore

    with pytest.raises(mltrace.MltraceError, match="logs over HTTP"):
        RemoteStore("http://127.0.0.1:1/mltrace").get_history("x")


@pytest.mark.parametrize(
    ("address", "base"),
    [
        ("10.0.0.5", "http://10.0.0.5:8080/mltrace"),  # mltrace 0.17: a host
        ("airflow.internal:9090", "http://airflow.internal:9090/mltrace"),
        ("https://airflow.example.com", "https://airflow.example.com/mltrace"),
        ("https://airflow.example.com/mltrace/", "https://airflow.example.com/mltrace"),
        ("http://h:8080/prefix", "http://h:8080/prefix/mltrace"),
    ],
)
def test_addresses_name_the_mltrace_app(address, base):
    config.set_api_url(address)
    try:
        assert config.api_url() == base
    finally:
        config.set_api_url(None)
