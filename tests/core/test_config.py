"""Where the store lives, and how URIs are spelled."""

from __future__ import annotations

import pytest

import mltrace_core as mltrace
from mltrace_core.config import get_db_uri, normalize_uri, redact_uri


def test_uri_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("MLTRACE_HOME", str(tmp_path / "home"))
    assert get_db_uri() == f"sqlite:///{tmp_path / 'home' / 'mltrace.db'}"
    monkeypatch.setenv("MLTRACE_DB_URI", "sqlite:///from-env.db")
    assert get_db_uri() == "sqlite:///from-env.db"
    mltrace.set_db_uri("sqlite:///explicit.db")
    assert mltrace.get_db_uri() == "sqlite:///explicit.db"
    mltrace.set_db_uri(None)
    assert get_db_uri() == "sqlite:///from-env.db"


def test_default_home_is_created_on_first_use(monkeypatch, tmp_path):
    monkeypatch.setenv("MLTRACE_HOME", str(tmp_path / "new" / "home"))
    with mltrace.run("a", outputs=["x"]):
        pass
    assert (tmp_path / "new" / "home" / "mltrace.db").exists()


def test_home_defaults_to_dot_mltrace(monkeypatch, tmp_path):
    monkeypatch.delenv("MLTRACE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_db_uri() == f"sqlite:///{tmp_path / '.mltrace' / 'mltrace.db'}"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5432/db", "postgresql+psycopg2://u:p@h:5432/db"),
        ("postgresql://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_normalize_uri(given, expected):
    assert normalize_uri(given) == expected


def test_redact_hides_password():
    assert "secret" not in redact_uri("postgres://me:secret@db.example/lineage")
    assert "db.example" in redact_uri("postgres://me:secret@db.example/lineage")


def test_bad_uri_is_a_typed_error():
    with pytest.raises(mltrace.InvalidInputError, match="invalid database URI"):
        mltrace.Store("nonsense://x").get_tags()


def test_unreachable_store_is_a_typed_error_without_password():
    store = mltrace.Store("postgresql://me:hunter2@127.0.0.1:9/lineage", timeout=2)
    with pytest.raises(mltrace.StoreUnavailableError) as info:
        store.get_tags()
    assert "hunter2" not in str(info.value)
