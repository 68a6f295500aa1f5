"""The plugin's wiring: what Airflow's plugins manager reads from it, and the store the app shows."""

from __future__ import annotations

import importlib.metadata
import json

import pytest
from fastapi import FastAPI

import mltrace_core
from mltrace_airflow.plugin import MltracePlugin
from mltrace_airflow.web.app import create_app
from mltrace_core import stores
from tests.web.conftest import ROOT, client_as


def test_entry_point_names_the_plugin_class():
    (ep,) = [e for e in importlib.metadata.entry_points(group="airflow.plugins") if e.name == "mltrace"]
    assert ep.load() is MltracePlugin


def test_airflow_accepts_the_plugin_class():
    from airflow._shared.plugins_manager.plugins_manager import is_valid_plugin

    assert is_valid_plugin(MltracePlugin)


def test_fastapi_app_is_mounted_at_mltrace_and_built_once():
    plugin = MltracePlugin()
    (entry,) = plugin.fastapi_apps
    assert entry["url_prefix"] == "/mltrace" and entry["name"] == "mltrace"
    assert isinstance(entry["app"], FastAPI)
    assert MltracePlugin().fastapi_apps[0]["app"] is entry["app"]  # one app per process


def test_external_views_nav_entry_and_tabs():
    views = {v["destination"]: v for v in MltracePlugin().external_views}
    assert views["nav"] == {
        "name": "mltrace",
        "href": "mltrace/",
        "destination": "nav",
        "category": "browse",
        "url_route": "mltrace",
    }
    assert views["task_instance"]["href"].startswith(
        "mltrace/ti?dag_id={DAG_ID}&run_id={RUN_ID}&task_id={TASK_ID}"
    )
    assert "map_index={MAP_INDEX}" in views["task_instance"]["href"]
    assert views["dag_run"]["href"] == "mltrace/dagrun?dag_id={DAG_ID}&run_id={RUN_ID}"
    assert all(v.get("url_route") for v in views.values())  # tabs are only shown with a url_route


def test_external_views_are_valid_for_airflows_api():
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse

    for view in MltracePlugin().external_views:
        ExternalViewResponse.model_validate(view)


def test_listener_module_is_registered():
    listeners = MltracePlugin().listeners
    assert [m.__name__ for m in listeners] == ["mltrace_airflow.task.listener"]
    assert callable(listeners[0].on_task_instance_success)


def test_a_missing_listener_module_does_not_break_the_plugin(monkeypatch):
    from mltrace_airflow import plugin

    plugin._listeners.cache_clear()
    monkeypatch.setattr(plugin, "LISTENER_MODULE", "mltrace_airflow.task.no_such_listener")
    try:
        assert MltracePlugin().listeners == []
    finally:
        plugin._listeners.cache_clear()


def test_no_state_in_the_class_body():
    for attr in ("fastapi_apps", "external_views", "listeners"):
        assert isinstance(vars(MltracePlugin)[attr], property), attr


@pytest.fixture
def hook_app(auth_manager):
    app = create_app()  # the store comes from MltraceHook
    yield app
    stores.clear()


def _recent_ids(app) -> list[int]:
    return [r["id"] for r in client_as(app, "admin").get(f"{ROOT}/api/recent").json()]


def test_default_store_is_mltrace_db_uri(hook_app, store, store_uri, log, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_MLTRACE_DEFAULT", raising=False)
    monkeypatch.setenv("MLTRACE_DB_URI", store_uri)
    run_id = log("from-env", [], ["x"], 0, 1)
    assert _recent_ids(hook_app) == [run_id]


def test_default_store_is_the_mltrace_default_connection(hook_app, tmp_path, monkeypatch):
    path = tmp_path / "conn.db"
    other = mltrace_core.Store(f"sqlite:///{path}")
    run_id = other.log(_run("from-connection"))
    other.dispose()
    monkeypatch.setenv("MLTRACE_DB_URI", f"sqlite:///{tmp_path / 'not-this.db'}")
    monkeypatch.setenv("AIRFLOW_CONN_MLTRACE_DEFAULT", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    assert _recent_ids(hook_app) == [run_id]


def _run(component: str) -> mltrace_core.ComponentRun:
    cr = mltrace_core.ComponentRun(component)
    cr.set_start_timestamp()
    cr.add_output("out")
    cr.set_end_timestamp()
    return cr


def test_the_pages_show_the_store_of_the_configured_conn_id(hook_app, tmp_path, monkeypatch):
    """``[mltrace] conn_id`` names the store for the tab too, not only for the tasks that write to it."""
    mine, default = tmp_path / "mine.db", tmp_path / "default.db"
    for path, component in ((mine, "in-my-store"), (default, "in-the-default-store")):
        store = mltrace_core.Store(f"sqlite:///{path}")
        store.log(_run(component))
        store.dispose()
    monkeypatch.setenv(
        "AIRFLOW_CONN_MLTRACE_DEFAULT", json.dumps({"conn_type": "sqlite", "host": str(default)})
    )
    monkeypatch.setenv("AIRFLOW_CONN_LINEAGE_STORE", json.dumps({"conn_type": "sqlite", "host": str(mine)}))
    monkeypatch.setenv("AIRFLOW__MLTRACE__CONN_ID", "lineage_store")
    recent = client_as(hook_app, "admin").get(f"{ROOT}/api/recent").json()
    assert [r["component"] for r in recent] == ["in-my-store"]
