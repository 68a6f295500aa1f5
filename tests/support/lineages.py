"""Generated lineages for the trace views: layers of runs, each reading a few outputs of the layer below,
and a report reading the whole last layer (the issue's 901-run shape: 30 layers of 30; and 10,001 runs:
50 layers of 200, so one component is a 200-run fan). Written through ``Store.log``, so every lineage
edge is the core's own. Shared by the browser tests and bench/trace_view_bench.py.

Run ``slow`` of every layer takes twice as long as the others, so the critical path (the chain of latest
inputs) is known: that run in every layer, then the report. Run ``failed`` of layer 1 failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from mltrace_core import RunRecord, Store

T0 = datetime(2026, 2, 1, tzinfo=timezone.utc)
LAYER_EVERY = timedelta(minutes=10)
RUN_TAKES = timedelta(minutes=4)


@dataclass(frozen=True)
class Layered:
    output: str  # the report: the end of the lineage
    runs: int  # runs in its trace
    layers: int
    width: int
    ids: dict[tuple[int, int], int]  # (layer, index) -> run id
    report: int  # the report's run id
    critical: tuple[int, ...]  # the critical path, earliest run first
    failed: int  # the one failed run

    def component(self, layer: int) -> str:
        return f"{self.output.split('/')[0]}.layer{layer}"


def layered(
    store: Store, layers: int, width: int, prefix: str = "big", fan_in: int = 3, slow: int = 1
) -> Layered:
    """Log the lineage into ``store``; run names, pointers and components start with ``prefix``."""
    ids: dict[tuple[int, int], int] = {}
    failed = (1, width - 1) if layers > 1 else (0, width - 1)
    for layer in range(layers):
        start = T0 + layer * LAYER_EVERY
        for i in range(width):
            ins = [f"{prefix}/{layer - 1}/{(i + j) % width}.csv" for j in range(fan_in)] if layer else []
            ids[(layer, i)] = store.log(
                RunRecord(
                    key=f"{prefix}-{layer}-{i}",
                    component=f"{prefix}.layer{layer}",
                    start=start,
                    end=start + RUN_TAKES * (2 if i == slow else 1),
                    status="failed" if (layer, i) == failed else "success",
                    inputs=tuple((p, None, None) for p in ins),
                    outputs=((f"{prefix}/{layer}/{i}.csv", None, None),),
                )
            )
    start = T0 + layers * LAYER_EVERY
    report = store.log(
        RunRecord(
            key=f"{prefix}-report",
            component=f"{prefix}.report",
            start=start,
            end=start + timedelta(minutes=1),
            inputs=tuple((f"{prefix}/{layers - 1}/{i}.csv", None, None) for i in range(width)),
            outputs=((f"{prefix}/report.html", None, None),),
        )
    )
    critical = (*(ids[(layer, slow)] for layer in range(layers)), report)
    return Layered(
        f"{prefix}/report.html", layers * width + 1, layers, width, ids, report, critical, ids[failed]
    )
