"""A database created by the first released schema (fixtures kept verbatim), with data in it, upgrades
with `mltrace db upgrade` to the current schema with every run, pointer and lineage edge intact."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, text

import mltrace_core
from mltrace_core import db
from mltrace_core.cli import cli
from mltrace_core.config import normalize_uri
from tests.support.timeline import at

FIXTURES = Path(__file__).parent.parent / "fixtures"


def load_first_release(uri: str) -> None:
    engine = create_engine(normalize_uri(uri))
    dialect = engine.dialect.name
    script = (FIXTURES / f"schema_0001_{dialect}.sql").read_text() + (FIXTURES / "data_0001.sql").read_text()
    with engine.begin() as conn:
        if dialect == "postgresql":
            conn.execute(text("SET TIME ZONE 'UTC'"))
        for statement in script.split(";\n"):
            body = "\n".join(line for line in statement.splitlines() if not line.startswith("--")).strip()
            if body:
                conn.exec_driver_sql(body)
    engine.dispose()


def test_first_release_database_upgrades_intact(bare_uri):
    load_first_release(bare_uri)
    result = CliRunner().invoke(cli, ["--db-uri", bare_uri, "db", "upgrade"])
    assert result.exit_code == 0, result.output
    store = mltrace_core.Store(bare_uri)
    assert store.schema_revision() == db.SCHEMA_REVISION
    graph = store.trace("model.pkl")
    assert [(n.depth, n.run.id) for n in graph.nodes] == [(0, 3), (1, 1)]
    assert {(e.consumer, e.producer, e.via) for e in graph.edges} == {
        (3, 1, "raw.csv"),
        (3, 1, "s3://bucket/a b/ü.csv"),
    }
    retry = store.get_component_run_information(3)
    assert retry.external.try_number == 2 and retry.external.url.endswith("/tasks/train")
    assert dict(retry.input_versions) == {"raw.csv": "sha256:aa", "s3://bucket/a b/ü.csv": None}
    failed = store.get_component_run_information(2)
    assert failed.status == "failed" and failed.error == "ValueError: boom" and failed.start == at(2)
    assert store.get_component_run_information(1).code_version == "abc123"
    assert store.review_flagged_outputs().flagged == ("model.pkl",)
    assert [c.name for c in store.get_components(tag="ml")] == ["train"]
    # The upgraded store goes on working: a new run links to the old history.
    new = mltrace_core.ComponentRun("predict")
    new.set_start_timestamp(at(10))
    new.set_end_timestamp(at(11))
    new.add_input("model.pkl")
    rid = store.log(new)
    assert rid == 4 and store.get_component_run_information(rid).dependencies == (3,)
    store.dispose()
