"""mltrace 0.17's client tests (``tests/test_client.py``, ``tests/data_model/test_client.py``), changed
only in their import lines and test database line, pass against mltrace_core on both backends."""

from __future__ import annotations

import pytest

from tests.compat.harness import case_ids, run_case


@pytest.fixture
def upstream_store(store_uri, monkeypatch, tmp_path):
    """The store the upstream tests log to; 0.17's ``save`` writes under a scratch SAVE_DIR."""
    monkeypatch.setenv("MLTRACE_DB_URI", store_uri)
    monkeypatch.setenv("SAVE_DIR", str(tmp_path / "saved"))
    return store_uri


@pytest.mark.parametrize("case", case_ids("upstream_test_client"))
def test_client(upstream_store, case):
    run_case("upstream_test_client", case)


@pytest.mark.parametrize("case", case_ids("upstream_test_data_model_client"))
def test_data_model_client(case):
    run_case("upstream_test_data_model_client", case)
