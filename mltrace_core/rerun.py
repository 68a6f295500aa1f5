"""Re-running what bad data touched, through Airflow's own REST API (never its database).

Airflow clears task instances with ``POST /api/v2/dags/{dag_id}/clearTaskInstances``: the cleared tries
(and, with ``include_downstream``, every task downstream of them in the DAG run) run again under the
scheduler's normal rules, and whether the caller may do it is Airflow's decision (its auth manager: the
permission to edit DAG runs). mltrace only asks, one DAG run at a time: first a dry run, whose answer is
the exact list of task instances that would be cleared (the preview), then, once confirmed, for real.

The token is the caller's: ``AIRFLOW_API_TOKEN``, one from ``POST /auth/token`` with Airflow credentials
(:meth:`AirflowClient.login`), or, in the mltrace tab, the logged-in user's own. Pure HTTP (urllib): no
Airflow import, so the ``mltrace`` CLI can use it from any machine that reaches the API server.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mltrace_core import InvalidInputError, MltraceError, config

DEFAULT_URL = "http://localhost:8080"


class AirflowApiError(MltraceError):
    """Airflow's REST API refused a request or could not be reached. ``status``: the HTTP status
    (``None``: no answer), e.g. 401 (no or bad token) or 403 (not allowed to edit the DAG's runs)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TaskInstance:
    """One task instance Airflow cleared (or would clear, in a dry run)."""

    dag_id: str
    dag_run_id: str
    task_id: str
    map_index: int
    state: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "dag_run_id": self.dag_run_id,
            "task_id": self.task_id,
            "map_index": self.map_index,
            "state": self.state,
        }


@dataclass(frozen=True)
class Cleared:
    """What one clear request of one DAG run did (``dry_run``: would do)."""

    dag_id: str
    dag_run_id: str
    task_ids: tuple[str, ...]  # asked for (the affected tasks; their downstream comes with them)
    task_instances: tuple[TaskInstance, ...]
    dry_run: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "dag_run_id": self.dag_run_id,
            "task_ids": list(self.task_ids),
            "task_instances": [t.to_dict() for t in self.task_instances],
            "dry_run": self.dry_run,
        }


def api_url() -> str:
    """The Airflow API server: ``$MLTRACE_AIRFLOW_URL``, else ``$AIRFLOW__API__BASE_URL``, else
    ``http://localhost:8080``."""
    return config.airflow_url(DEFAULT_URL)


class AirflowClient:
    """Airflow's REST API at ``base_url`` (the API server, e.g. ``http://localhost:8080``) with a bearer
    ``token``. ``timeout``: seconds per request."""

    def __init__(self, base_url: str, token: str, timeout: float = 60.0) -> None:
        if not token:
            raise InvalidInputError("an Airflow API token is needed (AIRFLOW_API_TOKEN, or credentials)")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    @classmethod
    def login(cls, base_url: str, username: str, password: str, timeout: float = 60.0) -> AirflowClient:
        """A client with a token from ``POST /auth/token`` for these Airflow credentials."""
        answer = _request(
            base_url.rstrip("/") + "/auth/token",
            {"username": username, "password": password},
            None,
            timeout,
        )
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not token:
            raise AirflowApiError("Airflow gave no access token for these credentials")
        return cls(base_url, token, timeout)

    @classmethod
    def from_environment(
        cls, base_url: str | None = None, username: str | None = None, password: str | None = None
    ) -> AirflowClient:
        """``AIRFLOW_API_TOKEN`` if set, else a login with ``username``/``password``."""
        url = base_url or api_url()
        token = config.airflow_api_token()
        if token:
            return cls(url, token)
        if username and password:
            return cls.login(url, username, password)
        raise InvalidInputError(
            "clearing needs an Airflow API token: set AIRFLOW_API_TOKEN, or give Airflow credentials "
            "(--airflow-user, and --airflow-password or MLTRACE_AIRFLOW_PASSWORD)"
        )

    def clear(
        self, dag_id: str, dag_run_id: str, task_ids: Iterable[str], *, dry_run: bool = True
    ) -> Cleared:
        """Clear ``task_ids`` of DAG run ``dag_run_id`` with their downstream tasks, whatever their state
        (``dry_run``: only list what would be cleared). Raises :class:`AirflowApiError`."""
        tasks = tuple(task_ids)
        if not tasks:
            raise InvalidInputError("no task to clear")
        body = {
            "dry_run": dry_run,
            "dag_run_id": dag_run_id,
            "task_ids": list(tasks),
            "include_downstream": True,
            "include_upstream": False,
            "include_future": False,
            "include_past": False,
            "only_failed": False,
            "only_running": False,
            "reset_dag_runs": True,
        }
        url = f"{self.base_url}/api/v2/dags/{urllib.parse.quote(dag_id, safe='')}/clearTaskInstances"
        answer = _request(url, body, self.token, self.timeout)
        listed = answer.get("task_instances", []) if isinstance(answer, dict) else []
        return Cleared(
            dag_id,
            dag_run_id,
            tasks,
            tuple(
                TaskInstance(
                    ti.get("dag_id", dag_id),
                    ti.get("dag_run_id", dag_run_id),
                    ti["task_id"],
                    -1 if ti.get("map_index") is None else int(ti["map_index"]),
                    ti.get("state"),
                )
                for ti in listed
            ),
            dry_run,
        )


def clear_all(client: AirflowClient, groups: Iterable[Any], *, dry_run: bool = True) -> list[Cleared]:
    """One clear request per DAG run of ``groups`` (:class:`mltrace_core.AirflowRun` records, e.g.
    ``store.impact(address).airflow``): with ``dry_run`` the preview, else the real clear."""
    return [client.clear(g.dag_id, g.run_id, g.task_ids, dry_run=dry_run) for g in groups]


def _request(url: str, body: dict[str, Any], token: str | None, timeout: float) -> Any:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            return json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise AirflowApiError(
            f"Airflow answered {exc.code} to POST {urllib.parse.urlsplit(url).path}: {_detail(exc)}", exc.code
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AirflowApiError(f"Airflow's API at {url} could not be reached: {reason}") from None


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(exc.read()).get("detail")
    except Exception:
        detail = None
    if isinstance(detail, (dict, list)):
        detail = json.dumps(detail)[:300]
    return str(detail or exc.reason)
