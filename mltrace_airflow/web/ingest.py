"""OpenLineage ingestion, Marquez-compatible: ``POST /mltrace/api/v1/lineage`` and ``/api/v1/lineage/batch``.

Point any OpenLineage producer at it -- the Airflow provider with
``AIRFLOW__OPENLINEAGE__TRANSPORT='{"type": "http", "url": "http://HOST:8080", "endpoint":
"mltrace/api/v1/lineage", "auth": {"type": "api_key", "apiKey": "<[mltrace] ingestion_key>"}}'``
(the endpoint carries the ``mltrace/`` prefix: a url ending in ``/mltrace`` loses it).

- one event: ``201`` and an empty body once it is stored; a body that is not JSON ``400``; an event
  the spec or mltrace's limits reject ``422`` naming the field (``run.runId``, ``job.name``, ...);
  nothing of a rejected event is written;
- a batch (a JSON array): each event stands alone. ``200`` with OpenLineage's batch answer,
  ``{"status": "success" | "partial_success", "summary": {"received", "successful", "failed",
  "retriable", "non_retriable"}, "failed_events": [{"index", "reason", "retriable"}]}``; ``503`` when the
  store took nothing because it is unavailable (the producer retries the same batch);
- bodies may be gzip-compressed (``Content-Encoding: gzip``); over :data:`MAX_EVENT_BYTES` (one event)
  or :data:`MAX_BATCH_BYTES` (a batch), counted after decompression, ``413``;
- auth: :func:`auth.require_writer` (the ingestion key, or a token of a user allowed to edit assets).

Events are stored through the app's bounded store, a batch in chunks of :data:`CHUNK` events (each chunk
one transaction, within the store's time bound).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from mltrace_airflow.web import auth, body
from mltrace_airflow.web.deps import StoreDep
from mltrace_core import InvalidEventError, InvalidInputError, Store, StoreUnavailableError
from mltrace_core.openlineage import Event, parse

MAX_EVENT_BYTES = 4 * body.MiB
MAX_BATCH_BYTES = 64 * body.MiB
CHUNK = 500  # events per transaction in a batch

router = APIRouter(dependencies=[Depends(auth.require_writer)])


@router.post("/api/v1/lineage", status_code=201)
async def lineage(request: Request, store: StoreDep) -> Response:
    event = parse(await body.read_json(request, MAX_EVENT_BYTES))
    await run_in_threadpool(store.ingest, [event])
    return Response(status_code=201)


@router.post("/api/v1/lineage/batch")
async def lineage_batch(request: Request, store: StoreDep) -> JSONResponse:
    data = await body.read_json(request, MAX_BATCH_BYTES)
    if not isinstance(data, list):
        raise InvalidEventError("$", "a batch is a JSON array of events")
    failed: dict[int, tuple[str, bool]] = {}
    valid: list[tuple[int, Event]] = []
    for index, item in enumerate(data):
        try:
            valid.append((index, parse(item)))
        except InvalidEventError as exc:
            failed[index] = (str(exc), False)
    stored = 0
    for start in range(0, len(valid), CHUNK):
        chunk = valid[start : start + CHUNK]
        try:
            stored += await run_in_threadpool(_store_chunk, store, chunk, failed)
        except StoreUnavailableError as exc:
            if not stored:
                raise  # nothing taken: 503, the producer sends the same batch again
            for index, _ in valid[start:]:
                failed[index] = (f"store unavailable: {exc}", True)
            break
    return JSONResponse(_answer(len(data), failed))


def _store_chunk(store: Store, chunk: list[tuple[int, Event]], failed: dict[int, tuple[str, bool]]) -> int:
    """Store a chunk in one transaction; if the store rejects it, event by event, so only the culprits
    fail. Returns how many events were stored."""
    try:
        store.ingest([event for _, event in chunk])
        return len(chunk)
    except StoreUnavailableError:
        raise
    except InvalidInputError:
        pass
    stored = 0
    for index, event in chunk:
        try:
            store.ingest([event])
            stored += 1
        except StoreUnavailableError:
            raise
        except InvalidInputError as exc:
            failed[index] = (str(exc), False)
    return stored


def _answer(received: int, failed: dict[int, tuple[str, bool]]) -> dict[str, Any]:
    retriable = sum(1 for _, again in failed.values() if again)
    return {
        "status": "partial_success" if failed else "success",
        "summary": {
            "received": received,
            "successful": received - len(failed),
            "failed": len(failed),
            "retriable": retriable,
            "non_retriable": len(failed) - retriable,
        },
        "failed_events": [
            {"index": index, "reason": reason, "retriable": again}
            for index, (reason, again) in sorted(failed.items())
        ],
    }
