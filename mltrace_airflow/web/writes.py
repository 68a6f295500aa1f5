"""The HTTP write API for mltrace's own records: what ``mltrace_core.set_address`` (and
``MLTRACE_API_URL``) sends from code that has no database credentials.

- ``POST /mltrace/api/runs``: one run, as ``mltrace inspect --json`` prints it plus its idempotency key
  (``mltrace_core.wire``); ``201`` and ``{"id": <run id>}``. The same key again is the same run (merged:
  a replay after a timeout never doubles it). A field mltrace cannot take: ``422`` naming it.
- ``POST /mltrace/api/components``: ``{"name", "description", "owner", "tags"}``, as
  ``create_component`` (``204``).

Same auth as ingestion (:func:`auth.require_writer`), same body limits and gzip (:mod:`.body`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from mltrace_airflow.web import auth, body
from mltrace_airflow.web.deps import StoreDep
from mltrace_core import InvalidFieldError
from mltrace_core.wire import from_wire

MAX_RUN_BYTES = 16 * body.MiB  # a run with a code snapshot and many pointers

router = APIRouter(dependencies=[Depends(auth.require_writer)])


@router.post("/api/runs", status_code=201)
async def log_run(request: Request, store: StoreDep) -> JSONResponse:
    record = from_wire(await body.read_json(request, MAX_RUN_BYTES))
    run_id = await run_in_threadpool(store.log, record)
    return JSONResponse({"id": run_id, "key": record.key}, status_code=201)


@router.post("/api/components", status_code=204)
async def create_component(request: Request, store: StoreDep) -> Response:
    data = await body.read_json(request, body.MiB)
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise InvalidFieldError("name", 'send {"name": ..., "description", "owner", "tags"}')
    tags = data.get("tags") or []
    if not isinstance(tags, list):
        raise InvalidFieldError("tags", "must be an array")
    await run_in_threadpool(
        store.create_component, data["name"], data.get("description") or "", data.get("owner") or "", tags
    )
    return Response(status_code=204)
