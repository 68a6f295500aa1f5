"""The ``[mltrace]`` section of Airflow's configuration, read when used (never at import time).

Each option is an ordinary Airflow option: set it in ``airflow.cfg`` under ``[mltrace]`` or with the
environment variable ``AIRFLOW__MLTRACE__<OPTION>``; Airflow's own precedence applies (environment
variable > ``_CMD``/``_SECRET`` variants > ``airflow.cfg`` > the default given here). A value that does
not parse is reported once as a warning and the default is used: a typo in lineage settings must not
fail a task.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

log = logging.getLogger(__name__)

SECTION = "mltrace"
DEFAULT_CONN_ID = "mltrace_default"
DEFAULT_TIMEOUT = 5.0
_warned: set[tuple[str, str]] = set()


def disabled() -> bool:
    """Kill switch: ``[mltrace] disabled`` (``AIRFLOW__MLTRACE__DISABLED``), default False.
    When True, traced operators run exactly as their untraced classes and the listener does nothing."""
    return _boolean("disabled", False)


def trace_all_tasks() -> bool:
    """``[mltrace] trace_all_tasks`` (``AIRFLOW__MLTRACE__TRACE_ALL_TASKS``), default False: the
    listener logs every task try of every DAG from its inlets/outlets."""
    return _boolean("trace_all_tasks", False)


def conn_id() -> str:
    """The connection of the lineage store: an operator's ``mltrace_conn_id`` argument, else
    ``[mltrace] conn_id`` (``AIRFLOW__MLTRACE__CONN_ID``), else ``mltrace_default``. (With no such
    connection the hook falls back to ``MLTRACE_DB_URI``, then ``sqlite:///$AIRFLOW_HOME/mltrace.db``.)"""
    return _get("conn_id") or DEFAULT_CONN_ID


def timeout() -> float:
    """Seconds one run write may take before it is given up and spooled: ``[mltrace] timeout``
    (``AIRFLOW__MLTRACE__TIMEOUT``), default 5. It bounds what a dead or hung store costs a task try."""
    raw = _get("timeout")
    if raw is None:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        _warn_once("timeout", f"[mltrace] timeout must be seconds in (0, 3600], not {raw!r}")
        return DEFAULT_TIMEOUT
    return value


def spool_dir(connection: str | None = None) -> Path:
    """Where runs wait while the store is unreachable: ``[mltrace] spool_dir``
    (``AIRFLOW__MLTRACE__SPOOL_DIR``), else env ``MLTRACE_SPOOL_DIR``, else ``$AIRFLOW_HOME/mltrace_spool``.

    With ``connection``, the directory of that connection's store: ``<spool_dir>/<conn_id>``, so that a
    replay never sends a run to another store than the one it was meant for."""
    base = _get("spool_dir") or os.environ.get("MLTRACE_SPOOL_DIR")
    root = Path(base).expanduser() if base else airflow_home() / "mltrace_spool"
    if connection is None:
        return root
    return root / re.sub(r"[^\w.-]", "_", connection)


def strict() -> bool:
    """``[mltrace] strict`` (``AIRFLOW__MLTRACE__STRICT``), default False. When True, a traced
    operator whose run cannot be written fails its task try (nothing is spooled; Airflow's retries
    write it again) instead of logging a warning and spooling the run."""
    return _boolean("strict", False)


def airflow_home() -> Path:
    """``$AIRFLOW_HOME``, else ``~/airflow`` (Airflow's own default)."""
    return Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")


def _get(option: str) -> str | None:
    from airflow.sdk import conf

    value = conf.get(SECTION, option, fallback=None)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _boolean(option: str, default: bool) -> bool:
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
