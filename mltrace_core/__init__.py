"""mltrace_core: a lineage store for ML pipelines, with mltrace 0.17's API.

import mltrace_core as mltrace

with mltrace.run("featurize", inputs=["raw.csv"], outputs=["features.parquet"]):
    ...
mltrace.trace("features.parquet")

Every public name of mltrace 0.17 is here with its signature (``register``, ``Component``, ``Test``,
``load``/``save``, ``web_trace``...); ``docs/porting.md`` lists where behaviour differs, and why.
"""

from mltrace_core import stores
from mltrace_core.api import (
    add_notes_to_component_run,
    backtrace,
    clean_db,
    create_component,
    create_random_ids,
    default_store,
    diff,
    downstream,
    flag_output_id,
    get_all_tags,
    get_component_information,
    get_component_run_information,
    get_components,
    get_git_hash,
    get_git_tags,
    get_history,
    get_io_pointer,
    get_recent_run_ids,
    get_recent_runs,
    get_tags,
    load,
    log_component_run,
    register,
    review_flagged_outputs,
    run,
    save,
    set_address,
    tag_component,
    trace,
    unflag_all,
    unflag_output_id,
    versions,
    web_trace,
)
from mltrace_core.checks import CheckReason, CheckResult
from mltrace_core.config import get_db_uri, set_db_uri
from mltrace_core.entities import Component, ComponentRun, IOPointer, Test, components, tests
from mltrace_core.errors import (
    AmbiguousAddressError,
    IncompleteRunError,
    InvalidEventError,
    InvalidFieldError,
    InvalidInputError,
    InvalidTypeError,
    MltraceError,
    NotFoundError,
    SchemaError,
    StoreUnavailableError,
)
from mltrace_core.records import (
    Address,
    AirflowRun,
    ExternalIdentity,
    FlagRecord,
    Impact,
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
from mltrace_core.runs import RunRecord, TestResult
from mltrace_core.spool import Spool
from mltrace_core.store import Store
from mltrace_core.values import PointerType, PointerTypeEnum

__version__ = "0.1.0"

__all__ = [
    # mltrace 0.17's names, in its order
    "clean_db",
    "create_component",
    "register",
    "backtrace",
    "get_history",
    "tag_component",
    "log_component_run",
    "create_random_ids",
    "get_component_information",
    "get_component_run_information",
    "web_trace",
    "get_recent_run_ids",
    "get_io_pointer",
    "set_db_uri",
    "get_db_uri",
    "get_git_hash",
    "get_git_tags",
    "set_address",
    "add_notes_to_component_run",
    "flag_output_id",
    "unflag_output_id",
    "review_flagged_outputs",
    "get_all_tags",
    "get_components",
    "unflag_all",
    "Component",
    "Test",
    "ComponentRun",
    "IOPointer",
    "components",
    "tests",
    "load",
    "save",
    # ours
    "Address",
    "AirflowRun",
    "AmbiguousAddressError",
    "CheckReason",
    "CheckResult",
    "ExternalIdentity",
    "FlagRecord",
    "Impact",
    "IncompleteRunError",
    "InvalidEventError",
    "InvalidFieldError",
    "InvalidInputError",
    "InvalidTypeError",
    "MltraceError",
    "NotFoundError",
    "PointerVersion",
    "PointerType",
    "PointerTypeEnum",
    "Review",
    "Run",
    "RunChange",
    "RunDetail",
    "RunRecord",
    "SchemaError",
    "Spool",
    "Store",
    "StoreUnavailableError",
    "TestResult",
    "Trace",
    "TraceDiff",
    "TraceEdge",
    "TraceNode",
    "default_store",
    "diff",
    "downstream",
    "get_recent_runs",
    "get_tags",
    "run",
    "stores",
    "trace",
    "versions",
]
