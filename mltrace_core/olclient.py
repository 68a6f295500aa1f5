"""openlineage-python's side of :mod:`mltrace_core.olemit`: the client, and our event dicts as its event
classes. Imported only when an emission happens (openlineage-python is optional: the ``openlineage``
extra)."""

from __future__ import annotations

from typing import Any

import attr
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    RunFacet,
    dataset_version_dataset,
    error_message_run,
    parent_run,
)

from mltrace_core import olevents


@attr.define
class MltraceRunFacet(RunFacet):
    """The ``mltrace_run`` facet (schema: ``mltrace_core/schemas/MltraceRunFacet.json``)."""

    id: int
    key: str
    component: str
    tags: list[str] = attr.field(factory=list)
    notes: str | None = None
    codeVersion: str | None = None  # noqa: N815 (the facet's field name)

    @staticmethod
    def _get_schema() -> str:
        return olevents.MLTRACE_FACET_SCHEMA


def client() -> OpenLineageClient:
    """A client configured the client's own way (``OPENLINEAGE_URL``, ``openlineage.yml``...), read now."""
    return OpenLineageClient()


def run_event(event: dict[str, Any]) -> RunEvent:
    """One of :func:`mltrace_core.olevents.run_events`'s events as the client's ``RunEvent``."""
    facets = event["run"]["facets"]
    run_facets: dict[str, Any] = {}
    for name, facet in facets.items():
        fields = {k: v for k, v in facet.items() if not k.startswith("_")}
        if name == olevents.MLTRACE_FACET:
            run_facets[name] = MltraceRunFacet(producer=facet["_producer"], **fields)
        elif name == "parent":
            run_facets[name] = parent_run.ParentRunFacet(
                producer=facet["_producer"],
                run=parent_run.Run(runId=fields["run"]["runId"]),
                job=parent_run.Job(**fields["job"]),
                root=parent_run.Root(
                    run=parent_run.RootRun(runId=fields["root"]["run"]["runId"]),
                    job=parent_run.RootJob(**fields["root"]["job"]),
                ),
            )
        elif name == "errorMessage":
            run_facets[name] = error_message_run.ErrorMessageRunFacet(producer=facet["_producer"], **fields)
    return RunEvent(
        eventType=RunState[event["eventType"]],
        eventTime=event["eventTime"],
        run=Run(runId=event["run"]["runId"], facets=run_facets),
        job=Job(namespace=event["job"]["namespace"], name=event["job"]["name"]),
        producer=event["producer"],
        inputs=[InputDataset(**_dataset(d)) for d in event["inputs"]],
        outputs=[OutputDataset(**_dataset(d)) for d in event["outputs"]],
    )


def _dataset(data: dict[str, Any]) -> dict[str, Any]:
    version = (data.get("facets") or {}).get("version")
    facets = {}
    if version is not None:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            producer=version["_producer"], datasetVersion=version["datasetVersion"]
        )
    return {"namespace": data["namespace"], "name": data["name"], "facets": facets}
