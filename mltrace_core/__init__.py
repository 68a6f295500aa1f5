"""mltrace_core: a lineage store for ML pipelines, with a mltrace-compatible API.

import mltrace_core as mltrace

with mltrace.run("featurize", inputs=["raw.csv"], outputs=["features.parquet"]):
    ...
mltrace.trace("features.parquet")
"""

from mltrace_core import stores
from mltrace_core.api import (
    backtrace,
    create_component,
    default_store,
    diff,
    downstream,
    flag_output_id,
    get_component_information,
    get_component_run_information,
    get_components,
    get_history,
    get_recent_run_ids,
    get_recent_runs,
    get_tags,
    log_component_run,
    register,
    review_flagged_outputs,
    run,
    tag_component,
    trace,
    unflag_all,
    unflag_output_id,
    versions,
)
from mltrace_core.config import get_db_uri, set_db_uri
from mltrace_core.errors import (
    AmbiguousAddressError,
    InvalidInputError,
    MltraceError,
    NotFoundError,
    SchemaError,
    StoreUnavailableError,
)
from mltrace_core.records import (
    Address,
    Component,
    ExternalIdentity,
    PointerVersion,
    Review,
    Run,
    RunChange,
    RunDetail,
    Trace,
    TraceDiff,
    TraceEdge,
    TraceNode,
)
from mltrace_core.runs import ComponentRun, IOPointer, RunRecord
from mltrace_core.spool import Spool
from mltrace_core.store import Store

__version__ = "0.1.0"

__all__ = [
    "Address",
    "AmbiguousAddressError",
    "Component",
    "ComponentRun",
    "ExternalIdentity",
    "IOPointer",
    "InvalidInputError",
    "MltraceError",
    "NotFoundError",
    "PointerVersion",
    "Review",
    "Run",
    "RunChange",
    "RunDetail",
    "RunRecord",
    "SchemaError",
    "Spool",
    "Store",
    "StoreUnavailableError",
    "Trace",
    "TraceDiff",
    "TraceEdge",
    "TraceNode",
    "backtrace",
    "create_component",
    "default_store",
    "diff",
    "downstream",
    "flag_output_id",
    "get_component_information",
    "get_component_run_information",
    "get_components",
    "get_db_uri",
    "get_history",
    "get_recent_run_ids",
    "get_recent_runs",
    "get_tags",
    "log_component_run",
    "register",
    "review_flagged_outputs",
    "run",
    "set_db_uri",
    "stores",
    "tag_component",
    "trace",
    "unflag_all",
    "unflag_output_id",
    "versions",
]
