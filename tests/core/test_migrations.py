"""The schema is Alembic's: the models match the migrations, and the revision checks hold."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

import mltrace_core
from mltrace_core import db
from mltrace_core.models import Base


def test_code_revision_is_the_alembic_head():
    assert ScriptDirectory.from_config(db.alembic_config()).get_current_head() == db.SCHEMA_REVISION


def test_models_match_migrations(store):
    store.upgrade()
    with store.engine.connect() as conn:
        dialect = conn.dialect.name

        def of_this_backend(obj, name, type_, reflected, compare_to) -> bool:
            # An index declared for one backend (``Index(...).ddl_if(dialect=...)``) exists only there;
            # Alembic's comparison does not read that condition.
            only = getattr(getattr(obj, "_ddl_if", None), "dialect", None)
            return only is None or only == dialect

        context = MigrationContext.configure(
            conn, opts={"version_table": db.VERSION_TABLE, "include_object": of_this_backend}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_fresh_database_is_set_up_on_first_use(bare_uri):
    store = mltrace_core.Store(bare_uri)
    assert store.schema_revision() is None
    assert store.get_recent_runs() == []
    assert store.schema_revision() == db.SCHEMA_REVISION
    store.dispose()


def test_unknown_revision_is_refused(bare_uri):
    store = mltrace_core.Store(bare_uri)
    store.upgrade()
    with store.engine.begin() as conn:
        conn.execute(text(f"UPDATE {db.VERSION_TABLE} SET version_num = 'ffff'"))
    fresh = mltrace_core.Store(store.uri)
    with pytest.raises(mltrace_core.SchemaError, match="unknown"):
        fresh.get_recent_runs()
    fresh.dispose()
    store.dispose()


def test_concurrent_first_use_sets_up_once(bare_uri):
    from concurrent.futures import ThreadPoolExecutor

    stores = [mltrace_core.Store(bare_uri) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda s: s.get_tags(), stores)) == [[]] * 4
    for s in stores:
        s.dispose()
