"""The mltrace web app: ``create_app()`` builds a FastAPI app over the core's queries.

The plugin mounts it at ``/mltrace`` on the Airflow API server. Everything it shows comes from the store
the ``store_provider`` returns; by default the one :class:`MltraceHook` names for ``[mltrace] conn_id``
(the Connection ``mltrace_default`` unless configured otherwise, else ``MLTRACE_DB_URI``, else SQLite in
``AIRFLOW_HOME``) -- the same store the traced tasks write to.

FastAPI runs the sync routes in AnyIO's thread pool, which the whole API server shares: the UI, the REST
API and the execution API the task processes report to. So the app's store is bounded (see
:mod:`mltrace_core.bound`): every call gives up after :data:`PAGE_TIMEOUT` seconds (a 503), and at most
:data:`MAX_IN_FLIGHT` calls are in flight at once, so a frozen store can never hold more than that many of
Airflow's threads.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from mltrace_airflow import __version__, config
from mltrace_airflow.web import actions, api, auth, errors, ingest, pages, writes
from mltrace_airflow.web.links import Links, catalogue_url
from mltrace_core import MltraceError, Store, StoreUnavailableError, formats, stores

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
STATIC = HERE / "static"
STATIC_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".png": "image/png", ".svg": "image/svg+xml"}

StoreProvider = Callable[[], Store]
PAGE_TIMEOUT = 10.0  # seconds a page waits for the store
MAX_IN_FLIGHT = 8  # store calls in flight at once, across all requests


def hook_store_provider(ttl: float = 10.0) -> StoreProvider:
    """The store of ``[mltrace] conn_id`` (via :class:`MltraceHook`), bounded for pages, from the core's
    registry. The Connection is looked up again at most every ``ttl`` seconds (on the API server a
    lookup is a metadata-database query), so a changed connection or ``conn_id`` applies within that."""
    from mltrace_airflow.hooks.mltrace import MltraceHook

    looked_up: list = [None, 0.0]  # the store's URI, and when it was looked up
    lock = threading.Lock()

    def provide() -> Store:
        with lock:
            if looked_up[0] is None or time.monotonic() - looked_up[1] > ttl:
                looked_up[0] = MltraceHook(config.conn_id()).get_uri()
                looked_up[1] = time.monotonic()
            uri = looked_up[0]
        return stores.get(uri, timeout=PAGE_TIMEOUT, max_in_flight=MAX_IN_FLIGHT)

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
    )
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = formats.when
    env.filters["seconds"] = formats.duration
    env.globals["statuses"] = formats.STATUSES
    env.globals["catalogue_url"] = lambda ext, component: catalogue_url(
        config.openlineage_ui_url(), ext, component
    )
    static_version = _static_version()

    def store() -> Store:
        try:
            return provider()
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
    # Writes from programs (OpenLineage producers, remote mltrace clients): the ingestion key or an editor's
    # token (auth.require_writer). Everything else -- pages, the read API, static files -- needs a user
    # allowed to view plugins (auth.can_view).
    app.include_router(ingest.router)
    app.include_router(writes.router)
    app.include_router(api.router, prefix="/api", dependencies=[auth.can_view])
    app.include_router(pages.router, dependencies=[auth.can_view])
    app.include_router(actions.router, dependencies=[auth.can_view])

    @app.get("/static/{filename}", include_in_schema=False, dependencies=[auth.can_view])
    def static(filename: str) -> FileResponse:
        return _static_file(STATIC, filename)

    @app.get("/static/vendor/{filename}", include_in_schema=False, dependencies=[auth.can_view])
    def vendor(filename: str) -> FileResponse:
        return _static_file(STATIC / "vendor", filename)

    return app
