"""The ``[mltrace]`` section of Airflow's configuration: every option declared once, here, read when used.

:data:`OPTIONS` is the one declaration of each option (name, type, default, description). From it come
the getters below, the ``config`` part of the provider info (so ``airflow config list`` shows the
section with its descriptions and defaults, as it does for the OpenLineage provider) and the
configuration reference in ``docs/``.

Each option is an ordinary Airflow option: set it in ``airflow.cfg`` under ``[mltrace]`` or with the
environment variable ``AIRFLOW__MLTRACE__<OPTION>``; Airflow's own precedence applies (environment
variable > ``_CMD``/``_SECRET`` variants of sensitive options > ``airflow.cfg`` > the default declared
here). Nothing is read at import time: a change applies from the next task try. A value that does not
parse is reported once as a warning and the default is used: a typo in lineage settings must not fail
a task.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mltrace_core import config as core_config
from mltrace_core import olids

log = logging.getLogger(__name__)

SECTION = "mltrace"
DEFAULT_CONN_ID = "mltrace_default"
_warned: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Option:
    """One ``[mltrace]`` option. ``default`` is the text Airflow would hold (``None``: unset)."""

    name: str
    type: str  # "boolean" | "string" | "float"
    default: str | None
    description: str
    example: str | None = None
    sensitive: bool = False
    version_added: str | None = None

    @property
    def env(self) -> str:
        return f"AIRFLOW__{SECTION.upper()}__{self.name.upper()}"

    def provider_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "description": self.description,
            "version_added": self.version_added,
            "type": self.type,
            "example": self.example,
            "default": self.default,
        }
        if self.sensitive:
            info["sensitive"] = True
        return info


OPTIONS: tuple[Option, ...] = (
    Option(
        "conn_id",
        "string",
        DEFAULT_CONN_ID,
        "The Airflow Connection of the lineage store, for traced operators, the listener and the mltrace "
        "tab alike (an operator's ``mltrace_conn_id`` argument wins for its own runs). With no such "
        "connection the store is ``MLTRACE_DB_URI``, else ``sqlite:///$AIRFLOW_HOME/mltrace.db``.",
        example="lineage_store",
    ),
    Option(
        "trace_all_tasks",
        "boolean",
        "False",
        "Trace every task try of every DAG with no DAG changes: the listener logs each try that ends in a "
        "task process, with the task's inlets as inputs and its outlets as outputs.",
    ),
    Option(
        "timeout",
        "float",
        "5",
        "Seconds one lineage write may take from a task, end to end (connecting, waiting for locks, the "
        "statements, whatever the network does), before it is given up and the run is spooled. It bounds "
        "what a dead or hung store can cost a task try. More than 0, at most 3600.",
        example="2",
    ),
    Option(
        "spool_dir",
        "string",
        None,
        "Where runs wait while the store is unreachable (one subdirectory per connection). Default: "
        "``$MLTRACE_SPOOL_DIR``, else ``$AIRFLOW_HOME/mltrace_spool`` (``$MLTRACE_HOME/spool`` when "
        "``AIRFLOW_HOME`` is not set) -- the directory ``mltrace spool replay`` also uses by default. Set "
        "it with ``AIRFLOW__MLTRACE__SPOOL_DIR`` rather than in ``airflow.cfg`` so that the CLI sees it "
        "too (or pass ``--dir``).",
        example="/var/lib/airflow/mltrace_spool",
    ),
    Option(
        "strict",
        "boolean",
        "False",
        "When True, a traced operator whose run cannot be written fails its task try (nothing is "
        "spooled; Airflow's retries write it again) instead of logging a warning and spooling the run. "
        "The listener cannot fail a task and always spools.",
    ),
    Option(
        "openlineage_ui_url",
        "string",
        None,
        "The web UI of your OpenLineage catalogue (Marquez, DataHub, OpenMetadata...): a run's page in the "
        "mltrace tab links to it. ``{run_id}``, ``{namespace}`` and ``{job}`` in it are replaced by the "
        "run's OpenLineage run id, its job's namespace and the job's name (``dag_id.task_id`` for an "
        "Airflow task), URL-encoded; without them the link goes to the URL as given. Unset: no link.",
        example="http://marquez:3000/lineage/job/{namespace}/{job}",
    ),
    Option(
        "ingestion_key",
        "string",
        None,
        "A secret that lets an OpenLineage producer (the Airflow OpenLineage provider, Spark, dbt, the "
        "Python client) or a remote mltrace client write to mltrace over HTTP without an Airflow account: "
        "``POST /mltrace/api/v1/lineage``, ``/api/v1/lineage/batch`` and ``/api/runs`` accept "
        "``Authorization: Bearer <key>`` (what OpenLineage's ``api_key`` auth sends). Compared in constant "
        "time, never logged or shown. Sensitive: set it with ``AIRFLOW__MLTRACE__INGESTION_KEY_CMD`` or "
        "``_SECRET`` (a secrets backend) rather than in plain text. Unset: only an Airflow token of a user "
        "allowed to edit assets may write.",
        example="a-long-random-string",
        sensitive=True,
    ),
    Option(
        "hook_lineage",
        "boolean",
        "True",
        "Add to each traced try (traced operators and the trace-every-task listener) the assets its hooks "
        "reported to Airflow's hook-level lineage collector: files opened, copied or moved through "
        "``ObjectStoragePath``, S3/GCS hook transfers, and the tables of SQL hooks' queries (parsed with the "
        "OpenLineage provider's SQL parser when it is installed). Only the assets of that very try.",
    ),
    Option(
        "on_flagged_input",
        "string",
        "warn",
        "What a traced task try (traced operators and the trace-every-task listener) does when it reads a "
        "flagged input (a pointer flagged as a whole, or the flagged version of it the try reads) or one "
        "made from flagged data (a flag in the input's lineage): "
        "``ignore``; ``warn``, a warning naming each flag (target, who, when, why) in the task log and in "
        "the run's notes; ``fail``, the try fails before the task's code runs, with an error naming the "
        "flags, and its run is logged as failed with that reason (the listener cannot stop a task: it "
        "warns). The check is one store statement (one index probe when nothing is flagged) within "
        "``timeout``; if the store cannot answer, the try "
        "goes on with a warning.",
        example="fail",
    ),
    Option(
        "disabled",
        "boolean",
        "False",
        "Kill switch: traced operators run exactly as their untraced classes and the listener does nothing.",
    ),
)
BY_NAME = {option.name: option for option in OPTIONS}


def provider_config() -> dict[str, Any]:
    """The ``config`` entry of the provider info: the ``[mltrace]`` section as Airflow documents options."""
    return {
        SECTION: {
            "description": "mltrace: lineage of ML pipelines (the store, tracing, the spool).",
            "options": {option.name: option.provider_info() for option in OPTIONS},
        }
    }


# -- the getters: one per option --------------------------------------------------------------------------
def disabled() -> bool:
    """``[mltrace] disabled`` (see :data:`OPTIONS`)."""
    return _boolean("disabled")


def trace_all_tasks() -> bool:
    """``[mltrace] trace_all_tasks``."""
    return _boolean("trace_all_tasks")


def conn_id() -> str:
    """``[mltrace] conn_id``: the store's connection id."""
    return _get("conn_id") or _default("conn_id")


def strict() -> bool:
    """``[mltrace] strict``."""
    return _boolean("strict")


def timeout() -> float:
    """``[mltrace] timeout``, seconds in (0, 3600]."""
    raw = _get("timeout")
    default = float(_default("timeout"))
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        _warn_once(
            "timeout", f"[mltrace] timeout must be seconds in (0, 3600], not {raw!r}; using {default:g}"
        )
        return default
    return value


def spool_dir(connection: str | None = None) -> Path:
    """``[mltrace] spool_dir``, else the core's default spool directory (see
    :func:`mltrace_core.config.spool_dir`: ``$MLTRACE_SPOOL_DIR``, else ``$AIRFLOW_HOME/mltrace_spool``).

    With ``connection``, the directory of that connection's store: ``<spool_dir>/<conn_id>``, so that a
    replay never sends a run to another store than the one it was meant for."""
    configured = _get("spool_dir")
    root = Path(configured).expanduser() if configured else core_config.spool_dir()
    if connection is None:
        return root
    return root / spool_subdir(connection)


def spool_subdir(connection: str) -> str:
    """The spool subdirectory of an Airflow connection id (a safe file name)."""
    return re.sub(r"[^\w.-]", "_", connection)


def openlineage_ui_url() -> str | None:
    """``[mltrace] openlineage_ui_url``: the catalogue's link template, or ``None``."""
    return _get("openlineage_ui_url")


def openlineage_namespace() -> str:
    """The OpenLineage namespace of Airflow's jobs, as the OpenLineage provider reads it:
    ``[openlineage] namespace``, else ``$OPENLINEAGE_NAMESPACE``, else ``default`` (read here only when
    the provider is not installed; with it, its own ``conf.namespace()`` is used)."""
    from airflow.sdk import conf

    value = conf.get("openlineage", "namespace", fallback="")
    return value or os.environ.get("OPENLINEAGE_NAMESPACE", olids.DEFAULT_NAMESPACE)


def ingestion_key() -> str | None:
    """``[mltrace] ingestion_key`` (sensitive: Airflow's ``_CMD``/``_SECRET`` forms apply), or ``None``."""
    return _get("ingestion_key")


def hook_lineage() -> bool:
    """``[mltrace] hook_lineage``."""
    return _boolean("hook_lineage")


FLAGGED_INPUT_ACTIONS = ("ignore", "warn", "fail")


def on_flagged_input() -> str:
    """``[mltrace] on_flagged_input``: ``ignore``, ``warn`` (default) or ``fail``."""
    default = _default("on_flagged_input")
    raw = _get("on_flagged_input")
    if raw is None:
        return default
    value = raw.split("#")[0].strip().lower()
    if value in FLAGGED_INPUT_ACTIONS:
        return value
    _warn_once(
        "on_flagged_input",
        f"[mltrace] on_flagged_input must be ignore, warn or fail, not {raw!r}; using {default}",
    )
    return default


# -- reading ------------------------------------------------------------------------------------------------
def _default(option: str) -> str:
    default = BY_NAME[option].default
    assert default is not None, option
    return default


def _get(option: str) -> str | None:
    from airflow.sdk import conf

    value = conf.get(SECTION, option, fallback=None)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _boolean(option: str) -> bool:
    default = _default(option).lower() == "true"
    raw = _get(option)
    if raw is None:
        return default
    value = raw.split("#")[0].strip().lower()
    if value in ("t", "true", "1", "yes", "on"):
        return True
    if value in ("f", "false", "0", "no", "off"):
        return False
    _warn_once(option, f"[mltrace] {option} must be true or false, not {raw!r}; using {default}")
    return default


def _warn_once(option: str, message: str) -> None:
    if (option, message) not in _warned:
        _warned.add((option, message))
        log.warning(message)
