"""Fixtures shared by the reliability tests' Airflow deployments."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.deployment import MetadataTemplate


@pytest.fixture(scope="session")
def airflow_metadata(pg_server, tmp_path_factory) -> Iterator[MetadataTemplate]:
    """Make each deployment's metadata database with ``airflow_metadata.database(prefix)`` and pass
    ``copied_from=airflow_metadata.deployment.home`` to its :class:`Deployment`."""
    template = MetadataTemplate(pg_server, tmp_path_factory.mktemp("airflow-template"))
    try:
        yield template
    finally:
        template.drop()
