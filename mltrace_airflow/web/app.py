"""The mltrace web app: ``create_app()`` builds a FastAPI app over the core's queries.

The plugin mounts it at ``/mltrace`` on the Airflow API server. Everything it shows comes from the store
the ``store_provider`` returns; by default the one :class:`MltraceHook` names (the ``mltrace_default``
Connection, else ``MLTRACE_DB_URI``, else SQLite in ``AIRFLOW_HOME``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from mltrace_airflow import __version__
from mltrace_airflow.web import api, auth, bounded, errors, pages
from mltrace_airflow.web.links import Links
from mltrace_core import MltraceError, Store, StoreUnavailableError

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
STATIC = HERE / "static"
STATIC_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".png": "image/png", ".svg": "image/svg+xml"}

StoreProvider = Callable[[], Store]


def hook_store_provider(conn_id: str = "mltrace_default", ttl: float = 10.0) -> StoreProvider:
    """The store of Airflow Connection ``conn_id`` (via :class:`MltraceHook`), looked up again at most
    every ``ttl`` seconds: on the API server a Connection lookup is a metadata-database query. Its
    timeouts are the pages' bound (:data:`bounded.TIMEOUT`)."""
    from mltrace_airflow.hooks.mltrace import MltraceHook

    cached: list = [None, 0.0]
    lock = threading.Lock()

    def provide() -> Store:
        with lock:
            if cached[0] is None or time.monotonic() - cached[1] > ttl:
                store = MltraceHook(conn_id, timeout=bounded.TIMEOUT).get_store()
                cached[0], cached[1] = store, time.monotonic()
            return cached[0]

    return provide


def _static_version() -> str:
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(STATIC.glob("*.*")):
        digest.update(path.name.encode() + str(path.stat().st_mtime_ns).encode())
    return digest.hexdigest()[:12]


class ServerTiming:
    """Adds ``Server-Timing: app;dur=MS`` to every answer (the browser's network panel, the benchmark)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()

        async def timed(message) -> None:
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - started) * 1000
                message["headers"] = [
                    *message.get("headers", []),
                    (b"server-timing", f"app;dur={ms:.1f}".encode()),
                ]
            await send(message)

        await self.app(scope, receive, timed)


def _static_file(folder: Path, filename: str) -> FileResponse:
    """A file shipped in the package (a plain file name, no directory walking), behind the same auth as
    the pages."""
    path = folder / filename
    if not STATIC_NAME.fullmatch(filename) or path.suffix not in STATIC_TYPES or not path.is_file():
        raise HTTPException(404, f"no static file {filename[:80]!r}")
    return FileResponse(
        path, media_type=STATIC_TYPES[path.suffix], headers={"Cache-Control": "private, max-age=86400"}
    )


def when(ts: datetime | None) -> str:
    """A UTC time as the CLI prints it."""
    if ts is None:
        return ""
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.1f} s"
    minutes, sec = divmod(int(round(value)), 60)
    return f"{minutes} min {sec} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def create_app(store_provider: StoreProvider | None = None) -> FastAPI:
    """The web app. ``store_provider``: a callable returning the :class:`Store` to show (tests pass one)."""
    provider = store_provider or hook_store_provider()
    app = FastAPI(
        title="mltrace",
        description="Lineage of ML pipelines: recent runs, history, inspect, trace, tags, review.",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # nothing without auth: the route list is not worth an exception
        dependencies=[auth.can_view],  # every route: pages, API and static files
    )
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["seconds"] = seconds
    static_version = _static_version()

    limits = bounded.Limits()

    def store() -> Store:
        try:
            return bounded.BoundedStore(provider(), limits)  # type: ignore[return-value]
        except MltraceError:
            raise
        except ValueError as exc:  # MltraceHook: a Connection it cannot use (names its id and type only)
            raise StoreUnavailableError(f"the mltrace store is not configured correctly: {exc}") from exc
        except Exception as exc:  # reading the Connection failed: say which, not what it holds
            log.exception("mltrace: could not get the store")
            raise StoreUnavailableError(
                f"could not read the mltrace store's Airflow Connection ({type(exc).__name__}); see the API server log"
            ) from exc

    def render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
        links = Links(request.scope.get("root_path", ""), static_version)
        html = env.get_template(template).render(request=request, links=links, **context)
        return HTMLResponse(html, status_code=status_code)

    app.add_middleware(ServerTiming)
    app.state.store = store
    app.state.render = render
    errors.install(app, render)
    app.include_router(api.router, prefix="/api")
    app.include_router(pages.router)

    @app.get("/static/{filename}", include_in_schema=False)
    def static(filename: str) -> FileResponse:
        return _static_file(STATIC, filename)

    @app.get("/static/vendor/{filename}", include_in_schema=False)
    def vendor(filename: str) -> FileResponse:
        return _static_file(STATIC / "vendor", filename)

    return app
