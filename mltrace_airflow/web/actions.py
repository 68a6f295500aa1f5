"""Re-running what bad data touched, from the tab: ``POST /mltrace/rerun``.

The review page offers, per flagged output, a re-run of the Airflow task instances its impact reaches
(``Store.impact(...).airflow``). Two steps, both form POSTs with the page's CSRF token:

1. ``step=preview``: Airflow's own dry run (``clearTaskInstances`` with ``dry_run``) lists exactly the
   task instances that would be cleared, with their downstream; the page shows them and a confirm form
   carrying that plan (the DAG runs and task ids previewed).
2. ``step=confirm``: the same plan, cleared for real; Airflow's scheduler re-runs them as usual.

Who may: a user whose Airflow role may edit DAG runs and task instances of every DAG in the plan (the
auth manager's ``is_authorized_dag(method="PUT")``); anyone else gets 403 and nothing is asked of Airflow.
The request to Airflow carries the user's own token (the session cookie, or the bearer token), so Airflow
decides again with its own rules; mltrace never writes Airflow's database.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from mltrace_airflow.compat import (
    COOKIE_NAME_JWT_TOKEN,
    BaseUser,
    DagAccessEntity,
    DagDetails,
    GetUserDep,
    get_auth_manager,
)
from mltrace_airflow.web import auth, deps
from mltrace_airflow.web.deps import StoreDep
from mltrace_core import InvalidInputError, Store, impact, rerun

router = APIRouter()
RERUN_DENIED = "Re-running task instances needs the permission to edit the DAG's runs in Airflow."
MAX_PLAN = 1000  # DAG runs one confirm may clear (the preview lists them all first)


class PlannedRun(NamedTuple):
    """One DAG run of a plan: what ``rerun.clear_all`` is given."""

    dag_id: str
    run_id: str
    task_ids: tuple[str, ...]


def may_rerun(user: BaseUser, dag_id: str | None = None) -> bool:
    """Whether ``user`` may clear task instances (of ``dag_id``; ``None``: of some DAG)."""
    manager = get_auth_manager()
    details = DagDetails(id=dag_id) if dag_id else None
    return all(
        manager.is_authorized_dag(method="PUT", access_entity=entity, details=details, user=user)
        for entity in (DagAccessEntity.RUN, DagAccessEntity.TASK_INSTANCE)
    )


def _token(request: Request) -> str:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN) or ""


def _plan_of(text: str | None) -> list[PlannedRun]:
    try:
        rows = json.loads(text or "")
        plan = [PlannedRun(str(r["dag_id"]), str(r["run_id"]), tuple(map(str, r["task_ids"]))) for r in rows]
    except (ValueError, TypeError, KeyError):
        raise InvalidInputError("the re-run plan is not valid: start again from the review page") from None
    if not plan or len(plan) > MAX_PLAN or any(not p.task_ids for p in plan):
        raise InvalidInputError("the re-run plan is empty or too large: start again from the review page")
    return plan


def _clear(request: Request, plan: list[PlannedRun], dry_run: bool) -> list[Any]:
    client = rerun.AirflowClient(rerun.api_url(), _token(request))
    try:
        return rerun.clear_all(client, plan, dry_run=dry_run)
    except rerun.AirflowApiError as exc:
        code = exc.status if exc.status in (401, 403, 404, 409) else status.HTTP_502_BAD_GATEWAY
        raise HTTPException(code, str(exc)) from exc


REVIEW_IMPACT_RUNS = 20  # downstream runs the review page lists per flagged output (the impact page has all)
REVIEW_IMPACTS = 10  # flagged outputs whose impact the review page shows


class FlagImpact(NamedTuple):
    target: str  # NAME or NAME@VERSION
    impact: Any  # mltrace_core.Impact: the first page of runs, every Airflow DAG run
    live: int  # of the runs listed, how many still have live outputs


def flag_impacts(store: Store) -> tuple[list[FlagImpact], int]:
    """The impact of the first :data:`REVIEW_IMPACTS` active flag targets, for the review page, and how
    many more there are (each impact is a walk: a page does a bounded number of them)."""
    targets = list(dict.fromkeys(f.target for f in store.flags(active_only=True)))
    out = []
    for target in targets[:REVIEW_IMPACTS]:
        impact = store.impact(target, limit=REVIEW_IMPACT_RUNS)
        out.append(FlagImpact(target, impact, sum(1 for _, live in impact.runs if live)))
    return out, max(0, len(targets) - REVIEW_IMPACTS)


@router.get("/impact", response_class=HTMLResponse)
def impact_page(
    request: Request,
    store: StoreDep,
    user: GetUserDep,
    address: str,
    after: str | None = None,
    limit: str | None = None,
):
    """Everything ``address`` reached downstream, a page at a time (``after``: the previous page's
    ``next``), with what is still live, the Airflow DAG runs affected and the re-run action."""
    found = store.impact(address, deps.limit(limit, impact.DEFAULT_LIMIT), after or None)
    return request.app.state.render(
        request,
        "impact.html",
        address=address,
        impact=found,
        limit=limit,
        may_rerun=may_rerun(user),
        csrf=auth.csrf_token(request),
    )


def _impact_plan(store: Store, address: str) -> list[PlannedRun]:
    impact = store.impact(address)
    return [PlannedRun(a.dag_id, a.run_id, tuple(a.task_ids)) for a in impact.airflow]


@router.post("/rerun", response_class=HTMLResponse)
async def rerun_tasks(request: Request, store: StoreDep, user: GetUserDep):
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    auth.check_form_write(request, fields.get(auth.CSRF_FIELD))
    if not may_rerun(user):  # before the form is judged: a user who may not re-run learns nothing more
        raise HTTPException(status.HTTP_403_FORBIDDEN, RERUN_DENIED)
    address, step = fields.get("address") or "", fields.get("step")
    if step not in ("preview", "confirm") or not address:
        raise InvalidInputError("send address=<flagged output> and step=preview or confirm")
    if step == "preview":
        plan = await run_in_threadpool(_impact_plan, store, address)
    else:
        plan = _plan_of(fields.get("plan"))
    if any(not may_rerun(user, dag) for dag in {p.dag_id for p in plan}):
        raise HTTPException(status.HTTP_403_FORBIDDEN, RERUN_DENIED)
    cleared = await run_in_threadpool(_clear, request, plan, step == "preview") if plan else []
    return request.app.state.render(
        request,
        "rerun.html",
        address=address,
        step=step,
        cleared=cleared,
        plan=json.dumps([p._asdict() for p in plan]),
        csrf=auth.csrf_token(request),
    )
