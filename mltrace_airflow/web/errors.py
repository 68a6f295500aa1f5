"""The one place where errors become HTTP answers: a status code and a message, as JSON under ``/api/``
and as an HTML page elsewhere. Never a traceback; bad input is a 4xx, a missing store a 503."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException

from mltrace_core import (
    InvalidFieldError,
    InvalidInputError,
    MltraceError,
    NotFoundError,
    SchemaError,
    StoreUnavailableError,
)

log = logging.getLogger(__name__)

STATUS = (
    (NotFoundError, 404),
    (InvalidFieldError, 422),  # a well-formed document with a field mltrace cannot take (it is named)
    (InvalidInputError, 400),
    (StoreUnavailableError, 503),
    (SchemaError, 503),
)
TITLES = {
    400: "Bad request",
    401: "Not logged in",
    403: "Not allowed",
    404: "Not found",
    413: "Too large",
    422: "Cannot be taken",
    503: "Store unavailable",
}


def status_of(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, HTTPException):
        return exc.status_code, str(exc.detail)
    if isinstance(exc, RequestValidationError):
        return 422, "; ".join(_validation_message(e) for e in exc.errors()) or "invalid request"
    for kind, code in STATUS:
        if isinstance(exc, kind):
            return code, str(exc)
    log.error("mltrace store error: %s", exc)
    return 500, str(exc) or "mltrace store error"


def _validation_message(error: dict) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body"))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))


def wants_json(request: Request) -> bool:
    path = request.scope.get("path", "")
    root = request.scope.get("root_path", "")
    return path[len(root) :].startswith("/api/") if path.startswith(root) else "/api/" in path


def install(app: FastAPI, render_page) -> None:
    """Register the handler for every error type the app can meet.
    ``render_page(request, template, status_code=..., **context)`` renders an HTML page."""

    async def handle(request: Request, exc: Exception):
        code, message = status_of(exc)
        headers = getattr(exc, "headers", None)
        if wants_json(request):
            return JSONResponse({"detail": message}, status_code=code, headers=headers)
        try:
            return render_page(
                request,
                "error.html",
                status_code=code,
                code=code,
                title=TITLES.get(code, f"Error {code}"),
                message=message,
            )
        except Exception:  # the page itself failed: still answer, without a traceback
            log.exception("mltrace: could not render the error page")
            return HTMLResponse(f"<p>Error {code}</p>", status_code=code, headers=headers)

    for kind in (MltraceError, HTTPException, RequestValidationError):
        app.add_exception_handler(kind, handle)
