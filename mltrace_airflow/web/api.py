"""The JSON API under ``/mltrace/api/``: the same records, in the same shapes, as ``mltrace --json``.

Reads need the plugin view permission (set on the whole app); flag/unflag also need the edit permission
and a JSON body (a flag records the logged-in user as its ``by``). Errors are ``{"detail": message}`` with a 4xx/5xx status (see ``errors.py``).
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, ORJSONResponse
from starlette.concurrency import run_in_threadpool

from mltrace_airflow.web import auth, deps, tabs
from mltrace_airflow.web.deps import StoreDep
from mltrace_core import InvalidInputError

router = APIRouter()


@router.get("/recent")
def recent(store: StoreDep, limit: str | None = None) -> JSONResponse:
    return JSONResponse([r.to_dict() for r in store.get_recent_runs(deps.limit(limit, 20))])


@router.get("/history")
def history_by_query(store: StoreDep, component: str, limit: str | None = None) -> JSONResponse:
    return JSONResponse([r.to_dict() for r in store.get_history(component, deps.limit(limit, 10))])


@router.get("/history/{component:path}")
def history(store: StoreDep, component: str, limit: str | None = None) -> JSONResponse:
    return history_by_query(store, component, limit)


@router.get("/runs/{run_id}")
def run(store: StoreDep, run_id: str) -> JSONResponse:
    return JSONResponse(store.get_component_run_information(run_id).to_dict())


@router.get("/trace")
def trace(store: StoreDep, output: str, depth: str | None = None, as_of: str | None = None) -> JSONResponse:
    """``output``: any address (``NAME``, ``NAME@VERSION``, ``run:ID``); ``as_of``: a time (names only).
    Built from the database's rows without a record per run (``Store.trace_data``): a trace may hold
    10,000 runs."""
    return ORJSONResponse(store.trace_data(output, deps.depth(depth), as_of=deps.time(as_of)))


@router.get("/versions")
def versions(store: StoreDep, name: str, limit: str | None = None, start: str | None = None) -> JSONResponse:
    """``start``: from that run's write of ``name`` on (the next page: the last row's run of a page)."""
    count = None if not limit else deps.limit(limit, 0)  # none: every version
    return JSONResponse([v.to_dict() for v in store.versions(name, count, start or None)])


@router.get("/diff")
def diff(
    store: StoreDep, a: str, b: str, as_of_a: str | None = None, as_of_b: str | None = None
) -> JSONResponse:
    return JSONResponse(store.diff(a, b, deps.time(as_of_a), deps.time(as_of_b)).to_dict())


@router.get("/downstream")
def downstream(store: StoreDep, pointer: str, depth: str | None = None) -> JSONResponse:
    return ORJSONResponse(store.downstream(pointer, deps.depth(depth)).to_dict())


@router.get("/tags")
def tags(store: StoreDep, tag: str | None = None) -> JSONResponse:
    if tag is not None:  # /tags?tag=NAME: the form for names a path cannot carry ("." or "..")
        return JSONResponse([c.to_dict() for c in store.get_components(tag=tag)])
    return JSONResponse(store.get_tags())


@router.get("/tags/{tag:path}")
def tag(store: StoreDep, tag: str) -> JSONResponse:
    return JSONResponse([c.to_dict() for c in store.get_components(tag=tag)])


@router.get("/components")
def components(store: StoreDep, tag: str | None = None, owner: str | None = None) -> JSONResponse:
    return JSONResponse([c.to_dict() for c in store.get_components(tag=tag, owner=owner)])


@router.get("/review")
def review(store: StoreDep) -> JSONResponse:
    return JSONResponse(store.review_flagged_outputs().to_dict())


@router.get("/flags")
def flags(store: StoreDep, pointer: str | None = None, active: str | None = None) -> JSONResponse:
    """Flag records, history included (``active=1``: only the active ones), of every pointer or one."""
    only_active = active not in (None, "", "0", "false")
    return JSONResponse([f.to_dict() for f in store.flags(pointer or None, only_active)])


@router.get("/impact")
def impact(store: StoreDep, address: str, limit: str | None = None, after: str | None = None) -> JSONResponse:
    """What ``address`` (``NAME``, ``NAME@VERSION``, ``run:ID``) reached downstream, as ``mltrace impact
    --json``: one page of runs (``limit``, ``after``; ``next``) and every affected Airflow DAG run."""
    count = deps.limit(limit, 100)
    start = None if after is None or after == "" else after
    return JSONResponse(store.impact(address, count, start).to_dict())


@router.get("/task-runs")
def task_runs(
    store: StoreDep,
    dag_id: str | None = None,
    run_id: str | None = None,
    task_id: str | None = None,
    map_index: str | None = None,
    try_number: str | None = None,
) -> JSONResponse:
    """The runs logged for one Airflow DAG run, or one task (instance, try) of it, in start order."""
    found = tabs.task_runs(store, dag_id, run_id, task_id, map_index, try_number)
    return JSONResponse([r.to_dict() for r in found])


async def _body(request: Request) -> tuple[str, str | None]:
    """``{"output": NAME or NAME@VERSION, "reason": TEXT (optional)}`` from the JSON body, or a 400
    saying what is wrong."""
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        raise InvalidInputError('send {"output": "<pointer name>"}')
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise InvalidInputError('"reason" is text')
    return body["output"], reason


@router.post("/flag")
async def flag(request: Request, store: StoreDep, user: auth.EditorDep) -> JSONResponse:
    """Flag ``output`` (``NAME``: the pointer; ``NAME@VERSION``: one version), by the logged-in user."""
    auth.check_json_write(request)
    output, reason = await _body(request)
    record = await run_in_threadpool(store.flag, output, reason, user.get_name())
    return JSONResponse({"output": output, "flagged": True, "flag": record.to_dict()})


@router.post("/unflag", dependencies=[Depends(auth.require_edit)])
async def unflag(request: Request, store: StoreDep) -> JSONResponse:
    """End the active flags on exactly ``output``'s target (``NAME``: every flag on the pointer)."""
    auth.check_json_write(request)
    output, _ = await _body(request)
    ended = await run_in_threadpool(store.unflag, output)
    return JSONResponse({"output": output, "flagged": False, "ended": ended})
