"""What a traced operator tells the OpenLineage provider: the try's pointers as OpenLineage datasets.

Imported only by the operator methods the provider calls (``get_openlineage_facets_on_start`` /
``_on_complete`` / ``_on_failure``), so only where the provider is installed: without it nothing here is
imported. Pointers are named by :func:`mltrace_core.naming.dataset_of_pointer` (the inverse of what
ingestion reads) and carry their version as a ``version`` facet; the run carries the ``mltrace_run``
facet (mltrace's run id once written, its key, component and tags; schema in
``mltrace_core/schemas/MltraceRunFacet.json``).

- START: the declared pointers, rendered (``inputs``/``outputs``, ``inlets``/``outlets`` Assets).
- COMPLETE / FAIL: what mltrace stored for the try -- the declared pointers, those task code added through
  the run handle and those hooks reported, with the versions mltrace computed; a failed try has no
  outputs, as in mltrace. If the try's run was not built (tracing disabled, a bad name), the START view.

An operator class that has OpenLineage methods of its own (a SQL operator parsing its query) keeps them:
its datasets come first and ours are added.
"""

from __future__ import annotations

from typing import Any

import attrs
from airflow.providers.openlineage.extractors import OperatorLineage
from openlineage.client.event_v2 import Dataset
from openlineage.client.facet_v2 import DatasetFacet, RunFacet, dataset_version_dataset

from mltrace_airflow.task import tasktry
from mltrace_core import olevents
from mltrace_core.naming import canonical, dataset_of_pointer

Pointers = list[tuple[str, str | None]]


@attrs.define
class MltraceRunFacet(RunFacet):
    """The ``mltrace_run`` run facet: the run as mltrace stores it."""

    id: int | None
    key: str | None
    component: str
    tags: list[str] = attrs.field(factory=list)

    @staticmethod
    def _get_schema() -> str:
        return olevents.MLTRACE_FACET_SCHEMA


def datasets(pointers: Pointers) -> list[Dataset]:
    out, seen = [], set()
    for name, version in pointers:
        namespace, ds_name = dataset_of_pointer(canonical(name))
        if (namespace, ds_name) in seen:
            continue
        seen.add((namespace, ds_name))
        facets: dict[str, DatasetFacet] = {}
        if version is not None:
            facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version)
        out.append(Dataset(namespace=namespace, name=ds_name, facets=facets))
    return out


def declared(task: Any) -> tuple[Pointers, Pointers]:
    inputs = tasktry.as_pointers(task.inputs, "input") + tasktry.lineage_pointers(task.inlets)
    outputs = tasktry.as_pointers(task.outputs, "output") + tasktry.lineage_pointers(task.outlets)
    return [(p.name, p.version) for p in inputs], [(p.name, p.version) for p in outputs]


def lineage(
    task: Any, inputs: Pointers, outputs: Pointers, run_id: int | None, key: str | None, own: Any
) -> OperatorLineage:
    component = task.component or tasktry.component_name(task)
    tags = list(dict.fromkeys([task.dag_id, *task.mltrace_tags]))
    ours = OperatorLineage(
        inputs=datasets(inputs),
        outputs=datasets(outputs),
        run_facets={
            olevents.MLTRACE_FACET: MltraceRunFacet(id=run_id, key=key, component=component, tags=tags)
        },
    )
    return (
        ours
        if own is None
        else OperatorLineage(
            inputs=(own.inputs or []) + ours.inputs,
            outputs=(own.outputs or []) + ours.outputs,
            run_facets={**(own.run_facets or {}), **ours.run_facets},
            job_facets=dict(own.job_facets or {}),
        )
    )


def on_start(task: Any, own: Any) -> OperatorLineage:
    inputs, outputs = declared(task)
    return lineage(task, inputs, outputs, None, None, own)


def on_end(task: Any, own: Any) -> OperatorLineage:
    done = getattr(task, "_mltrace_done", None)
    if done is None:
        return on_start(task, own)
    record, run_id = done
    inputs = [(name, version) for name, version, _ in record.inputs]
    outputs = [(name, version) for name, version, _ in record.outputs]
    return lineage(task, inputs, outputs, run_id, record.key, own)
