"""openlineage-python's own client, from plain Python, into mltrace (issue 11): its HTTP transport (with the
api_key auth and gzip it sends) against the ingestion endpoint served over real HTTP, and its file transport
(one file per event, and append) read back by ``mltrace ingest``. Events built with the client's own classes
(facets included: datasetVersion, errorMessage, parent), not hand-written JSON."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import dataset_version_dataset, error_message_run, parent_run
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport
from openlineage.client.uuid import generate_new_uuid

from mltrace_airflow.web import auth
from mltrace_airflow.web.app import create_app
from mltrace_core.cli import cli
from tests.support.processes import AppServer
from tests.support.timeline import at
from tests.web.conftest import mounted

KEY = "openlineage-client-key-0123456789"
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("AIRFLOW__MLTRACE__INGESTION_KEY", KEY)
    auth.ingestion_key.clear()
    yield
    auth.ingestion_key.clear()


def pipeline() -> list[RunEvent]:
    """Two jobs of a Spark-like producer: extract writes a versioned table, load reads it and fails."""
    extract, load = str(generate_new_uuid()), str(generate_new_uuid())
    table = OutputDataset(
        "s3://lake",
        "orders/2026-01-01",
        facets={"version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="etag-1")},
    )
    read = InputDataset(
        "s3://lake",
        "orders/2026-01-01",
        facets={"version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="etag-1")},
    )
    parent = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=extract), job=parent_run.Job(namespace="spark", name="nightly")
    )

    def ev(state, run_id, minute, job, inputs=(), outputs=(), facets=None):
        return RunEvent(
            eventType=state,
            eventTime=at(minute).isoformat(),
            run=Run(runId=run_id, facets=facets or {}),
            job=Job(namespace="spark", name=job),
            producer=PRODUCER,
            inputs=list(inputs),
            outputs=list(outputs),
        )

    error = error_message_run.ErrorMessageRunFacet(message="disk full", programmingLanguage="python")
    return [
        ev(
            RunState.START,
            extract,
            0,
            "nightly.extract",
            inputs=[InputDataset("file", "/exports/orders.csv")],
        ),
        ev(RunState.COMPLETE, extract, 1, "nightly.extract", outputs=[table]),
        ev(RunState.START, load, 2, "nightly.load", inputs=[read], facets={"parent": parent}),
        ev(
            RunState.FAIL,
            load,
            3,
            "nightly.load",
            outputs=[OutputDataset("s3://lake", "x")],
            facets={"errorMessage": error},
        ),
    ]


def check(store) -> None:
    runs = {r.component: store.get_component_run_information(r.id) for r in store.get_recent_runs(10)}
    extract, load = runs["nightly.extract"], runs["nightly.load"]
    assert (extract.status, extract.inputs, dict(extract.output_versions)) == (
        "success",
        ("/exports/orders.csv",),
        {"s3://lake/orders/2026-01-01": "etag-1"},
    )
    assert (load.status, load.error, load.outputs, load.dependencies) == (
        "failed",
        "disk full",
        (),
        (extract.id,),
    )
    assert load.external.openlineage_namespace == "spark"


@pytest.mark.parametrize("compression", [None, HttpCompression.GZIP])
def test_the_http_transport_into_the_endpoint(store, key, compression):
    with AppServer(mounted(create_app(lambda: store))) as server:
        client = OpenLineageClient(
            transport=HttpTransport(
                HttpConfig(
                    url=server.base,
                    endpoint="mltrace/api/v1/lineage",
                    auth=ApiKeyTokenProvider({"apiKey": KEY}),
                    compression=compression,
                )
            )
        )
        for event in pipeline():
            client.emit(event)
    check(store)


@pytest.mark.parametrize("append", [False, True])
def test_the_file_transport_into_mltrace_ingest(store, store_uri, tmp_path, append):
    client = OpenLineageClient(
        transport=FileTransport(FileConfig(log_file_path=str(tmp_path / "ol" / "events"), append=append))
    )
    (tmp_path / "ol").mkdir()
    for event in pipeline():
        client.emit(event)
    files = list((tmp_path / "ol").iterdir())
    assert len(files) == (1 if append else 4)
    result = CliRunner().invoke(cli, ["--db-uri", store_uri, "ingest", str(tmp_path / "ol")])
    assert result.exit_code == 0, result.output
    check(store)
