"""MltraceHook: real Airflow ``Connection`` objects -> the store's SQLAlchemy URL, and the fallbacks."""

from __future__ import annotations

import json
import os

import pytest

pytestmark = pytest.mark.airflow


def conn(**fields):
    from airflow.sdk import Connection

    fields.setdefault("conn_id", "mltrace_default")
    if isinstance(fields.get("extra"), dict):
        fields["extra"] = json.dumps(fields["extra"])
    return Connection(**fields)


CASES = [
    pytest.param(
        dict(
            conn_type="postgres", host="db.internal", port=5432, schema="lineage", login="mlt", password="pw"
        ),
        "postgresql+psycopg2://mlt:pw@db.internal:5432/lineage",
        id="postgres",
    ),
    pytest.param(
        dict(conn_type="postgresql", host="db", schema="lineage"),
        "postgresql+psycopg2://db/lineage",
        id="postgresql-no-login-no-port",
    ),
    pytest.param(
        dict(conn_type="postgres", host="db", schema="d", login="u@corp", password="p@ss/w:rd#1"),
        "postgresql+psycopg2://u%40corp:p%40ss%2Fw%3Ard%231@db/d",
        id="postgres-special-characters-quoted",
    ),
    pytest.param(
        dict(conn_type="postgres", host="db", schema="d", extra={"sslmode": "require", "options": "-c x=1"}),
        "postgresql+psycopg2://db/d?sslmode=require",
        id="postgres-tls-extra-kept-options-dropped",
    ),
    pytest.param(
        dict(conn_type="mltrace", host="db", port=6432, schema="lineage", login="u"),
        "postgresql+psycopg2://u@db:6432/lineage",
        id="mltrace-with-host-is-postgres",
    ),
    pytest.param(
        dict(conn_type="sqlite", host="/data/mltrace.db"),
        "sqlite:////data/mltrace.db",
        id="sqlite-path-in-host",
    ),
    pytest.param(
        dict(conn_type="sqlite", schema="/data/mltrace.db"),
        "sqlite:////data/mltrace.db",
        id="sqlite-path-in-schema",
    ),
    pytest.param(
        dict(conn_type="mltrace", schema="/data/lineage.db"),
        "sqlite:////data/lineage.db",
        id="mltrace-no-host-sqlite",
    ),
    pytest.param(
        dict(conn_type="mltrace", extra={"sqlalchemy_url": "postgres://u:p@h/db"}),
        "postgresql+psycopg2://u:p@h/db",
        id="sqlalchemy-url-extra-normalised",
    ),
    pytest.param(
        dict(conn_type="postgres", host="ignored", extra={"sqlalchemy_url": "sqlite:////x/y.db"}),
        "sqlite:////x/y.db",
        id="sqlalchemy-url-extra-overrides-fields",
    ),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("fields", "expected"), CASES)
def test_connection_to_store_url(fields, expected):
    from mltrace_airflow.hooks.mltrace import connection_uri

    assert connection_uri(conn(**fields)) == expected


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param(dict(conn_type="mysql", host="h"), "type 'mysql'", id="unsupported-type"),
        pytest.param(dict(conn_type="sqlite"), "needs a file path", id="sqlite-without-path"),
    ],
)
def test_connection_that_names_no_store_is_refused(fields, message):
    from mltrace_airflow.hooks.mltrace import connection_uri

    with pytest.raises(ValueError, match=message):
        connection_uri(conn(**fields))


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param(
            "postgresql://u:p@h:5432/db?sslmode=verify-full",
            "postgresql+psycopg2://u:p@h:5432/db?sslmode=verify-full",
            id="uri",
        ),
        pytest.param(
            json.dumps({"conn_type": "sqlite", "host": "/srv/m.db"}), "sqlite:////srv/m.db", id="json"
        ),
        pytest.param("sqlite:////srv/m.db", "sqlite:////srv/m.db", id="sqlite-uri"),
    ],
)
def test_hook_reads_the_connection_from_airflow(monkeypatch, env, expected):
    from mltrace_airflow.hooks import MltraceHook

    monkeypatch.setenv("AIRFLOW_CONN_LINEAGE", env)
    assert MltraceHook("lineage").get_uri() == expected


@pytest.mark.timeout(60)
def test_without_a_connection_the_hook_falls_back_to_env_then_airflow_home(monkeypatch, tmp_path):
    from mltrace_airflow.hooks import MltraceHook

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    assert MltraceHook().get_uri() == f"sqlite:///{tmp_path}/mltrace.db"
    monkeypatch.setenv("MLTRACE_DB_URI", "postgresql://h/lineage")
    assert MltraceHook().get_uri() == "postgresql://h/lineage"
    monkeypatch.setenv("AIRFLOW_CONN_MLTRACE_DEFAULT", json.dumps({"conn_type": "sqlite", "host": "/a.db"}))
    assert MltraceHook().get_uri() == "sqlite:////a.db"


@pytest.mark.timeout(60)
def test_the_hooks_store_logs_and_is_reused(monkeypatch, tmp_path):
    from mltrace_airflow.hooks import MltraceHook
    from mltrace_core import ComponentRun

    db = tmp_path / "hook.db"
    monkeypatch.setenv("AIRFLOW_CONN_MLTRACE_DEFAULT", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    store = MltraceHook(timeout=3).get_store()
    assert MltraceHook(timeout=3).get_store() is store and store.timeout == 3
    run = ComponentRun("hook.check")
    run.set_start_timestamp()
    run.add_output("out.csv")
    run.set_end_timestamp()
    run_id = store.log(run)
    assert [r.id for r in store.get_recent_runs()] == [run_id] and db.exists()
    store.dispose()


@pytest.mark.timeout(120)
def test_registered_as_a_provider_with_the_mltrace_connection_type():
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    manager = ProvidersManagerTaskRuntime()
    assert "mltrace-airflow" in manager.providers
    hook = manager.hooks["mltrace"]
    assert (hook.hook_class_name, hook.connection_id_attribute_name) == (
        "mltrace_airflow.hooks.mltrace.MltraceHook",
        "mltrace_conn_id",
    )


@pytest.mark.timeout(120)
def test_airflow_config_list_shows_every_mltrace_option_with_its_default(tmp_path):
    """Every ``[mltrace]`` option is declared once (``mltrace_airflow.config.OPTIONS``) and reaches Airflow
    through the provider info, descriptions and defaults included."""
    import subprocess
    import sys

    from mltrace_airflow import config

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__MLTRACE__", "AIRFLOW_CONN_"))}
    env["AIRFLOW_HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "config", "list", "--section", "mltrace", "--show-values",
         "--include-descriptions"],
        env=env, capture_output=True, text=True, timeout=100, check=True,
    )  # fmt: skip
    for option in config.OPTIONS:
        if option.default is None:
            assert f"# {option.name} = " in done.stdout
        else:
            assert f"\n{option.name} = {option.default}\n" in done.stdout, option.name
        assert option.description.split(".")[0].split("``")[0] in done.stdout.replace("\n# ", " ")
