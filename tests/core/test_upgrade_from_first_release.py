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
    (kept,) = store.flags()  # the old boolean flag, kept as a record on the whole pointer (schema 0009)
    assert (kept.pointer, kept.version, kept.reason, kept.by, kept.active) == (
        "model.pkl",
        None,
        None,
        None,
        True,
    )
    assert [c.name for c in store.get_components(tag="ml")] == ["train"]
    # The upgraded store goes on working: a new run links to the old history.
    new = mltrace_core.ComponentRun("predict")
    new.set_start_timestamp(at(10))
    new.set_end_timestamp(at(11))
    new.add_input("model.pkl")
    rid = store.log(new)
    assert rid == 4 and store.get_component_run_information(rid).dependencies == (3,)
    store.dispose()


def test_pointers_named_two_ways_become_one_and_link(bare_uri):
    """Migration 0005: the first release kept ``file:///data/x.csv`` (an Asset) and ``/data/x.csv`` (a path)
    apart; after the upgrade they are one pointer, and the reader links to the writer."""
    load_first_release(bare_uri)
    engine = create_engine(normalize_uri(bare_uri))
    rows = [
        # (component id, key, start minute, inputs, outputs): names as the first release stored them
        (1, "asset-writer", 20, [], [("file:///data/x.csv", "v1"), ("file:///data//y.csv", None)]),
        (2, "path-reader", 30, [("/data/x.csv", None), ("file:///data/x.csv", "v1")], [("model.pkl", "v3")]),
        (2, "late-reader", 40, [("/data/y.csv", None)], []),
        (1, "s3-writer", 50, [], [("S3://bucket/a b/ü.csv", None)]),
    ]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET TIME ZONE 'UTC'"))
        names = {}
        for _, _, _, ins, outs in rows:
            for name, _ in ins + outs:
                if name not in names and name not in ("model.pkl",):
                    conn.execute(
                        text("INSERT INTO pointers (name, flagged, created_at) VALUES (:n, :f, :t)"),
                        {"n": name, "f": name == "/data/y.csv", "t": at(0)},
                    )
                    names[name] = conn.execute(
                        text("SELECT id FROM pointers WHERE name = :n"), {"n": name}
                    ).scalar()
        names["model.pkl"] = 2
        for component, key, start, ins, outs in rows:
            conn.execute(
                text(
                    "INSERT INTO component_runs (key, component_id, start_ts, end_ts, status, notes, logged_at) "
                    "VALUES (:k, :c, :s, :e, 'success', '', :e)"
                ),
                {"k": key, "c": component, "s": at(start), "e": at(start + 1)},
            )
            rid = conn.execute(text("SELECT id FROM component_runs WHERE key = :k"), {"k": key}).scalar()
            for name, version in ins:
                conn.execute(
                    text("INSERT INTO run_inputs VALUES (:r, :p, :v, :s)"),
                    {"r": rid, "p": names[name], "v": version, "s": at(start)},
                )
            for name, version in outs:
                conn.execute(
                    text("INSERT INTO run_outputs VALUES (:r, :p, :v, :s, :e)"),
                    {"r": rid, "p": names[name], "v": version, "s": at(start), "e": at(start + 1)},
                )
    engine.dispose()
    result = CliRunner().invoke(cli, ["--db-uri", bare_uri, "db", "upgrade"])
    assert result.exit_code == 0, result.output
    store = mltrace_core.Store(bare_uri)
    writer, reader, late, s3 = 4, 5, 6, 7
    detail = store.get_component_run_information(reader)
    assert dict(detail.input_versions) == {"/data/x.csv": "v1"}  # two spellings, one read, the version kept
    assert detail.dependencies == (writer,)
    assert store.get_component_run_information(late).dependencies == (writer,)  # /data//y.csv is /data/y.csv
    assert [n.run.id for n in store.trace("file:///data/x.csv").nodes] == [writer]
    assert [n.run.id for n in store.trace("model.pkl").nodes] == [reader, writer]
    assert store.get_flagged() == ["/data/y.csv", "model.pkl"]
    assert store.get_component_run_information(s3).outputs == ("s3://bucket/a b/ü.csv",)
    # The first release's own lineage is untouched.
    assert {(e.consumer, e.producer, e.via) for e in store.trace("model.pkl@sha256:bb").edges} == {
        (3, 1, "raw.csv"),
        (3, 1, "s3://bucket/a b/ü.csv"),
    }
    store.dispose()
