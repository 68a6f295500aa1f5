"""Logging over HTTP, for code that has no database credentials: a container, a remote training job,
mltrace 0.17's ``set_address``.

With an address set (:func:`mltrace_core.set_address`, or ``MLTRACE_API_URL`` with ``MLTRACE_API_KEY``),
the module API (``run``, ``register``, ``log_component_run``, ``Component.run``, ``create_component``,
``tag_component``) writes through :class:`RemoteStore`: the run JSON (``mltrace_core.wire``) is posted to
``POST <address>/api/runs`` of the Airflow API server serving mltrace (``/api/components`` for
components). Queries still read a store (``get_db_uri``) or the web UI.

Like every store write:

- bounded in wall-clock time (``MLTRACE_API_TIMEOUT``, default 10 s), by the store's own mechanism
  (:mod:`mltrace_core.bound`), whatever the network does;
- a run the server cannot take now (unreachable, hung, a 5xx, a refused credential that may be fixed)
  goes to the durable local spool (:mod:`mltrace_core.spool`) with a warning -- the caller goes on, and
  ``log`` returns ``None`` -- and is replayed after the next run that gets through, or by
  ``mltrace spool replay`` with the same address set;
- never duplicated: the run carries its idempotency key, and the server merges a key it already has (a
  write that timed out after the server committed, then replayed, is still one run);
- a run the server refuses for what it is (422, 413) is an :class:`InvalidInputError`, not spooled:
  sending it again would not help.

Standard library only (``urllib``): the core adds no dependency.
"""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any, NoReturn

from mltrace_core import config, wire
from mltrace_core.bound import CallBound
from mltrace_core.errors import InvalidInputError, MltraceError, StoreUnavailableError
from mltrace_core.runs import RunRecord
from mltrace_core.spool import Spool

log = logging.getLogger("mltrace_core")
REPLAY_BUDGET = 2.0  # seconds a successful write may spend replaying the spool
_bounds: dict[float, CallBound] = {}


class RemoteStore:
    """The mltrace web API at ``address`` (its base URL, ``http://host:8080/mltrace``), as a place to log
    runs and components. Anything else a :class:`~mltrace_core.Store` does raises: read a store instead."""

    def __init__(self, address: str, key: str | None = None, timeout: float | None = None) -> None:
        self.uri = address.rstrip("/")
        self.key = key
        self.timeout = timeout if timeout is not None else config.api_timeout()

    def __repr__(self) -> str:
        return f"RemoteStore({self.uri!r})"

    @property
    def fingerprint(self) -> str:
        """Which server spooled runs are meant for (the address, never the key)."""
        return hashlib.sha256(("http:" + self.uri).encode()).hexdigest()[:16]

    # -- writing --------------------------------------------------------------------------------------
    def log(self, run: Any) -> int | None:
        """Send one run; its id on the server, or ``None`` if it was spooled (see the module docstring)."""
        record = run.to_record() if hasattr(run, "to_record") else run.checked()
        spool = Spool()
        try:
            run_id = self.send(record)
        except StoreUnavailableError as exc:
            path = spool.put(record, store=self.fingerprint)
            log.warning(
                "mltrace: the run of %s was not sent to %s (%s); spooled to %s, sent with the next run that "
                "gets through or by `mltrace spool replay` with MLTRACE_API_URL set",
                record.component,
                self.uri,
                exc,
                path,
            )
            return None
        if spool.pending():
            try:
                spool.replay(_Sender(self), budget=REPLAY_BUDGET, match_store=True)
            except MltraceError as exc:
                log.warning("mltrace: replaying the spool to %s: %s", self.uri, exc)
        return run_id

    def send(self, record: RunRecord) -> int:
        """POST the run, within the time bound; :class:`StoreUnavailableError` if it did not get through."""
        answer = self._post("/api/runs", wire.to_wire(record))
        return int(answer["id"])

    def create_component(
        self, name: str, description: str = "", owner: str = "", tags: str | Iterable[str] = ()
    ) -> None:
        if isinstance(tags, str):
            tags = [tags]
        self._post(
            "/api/components", {"name": name, "description": description, "owner": owner, "tags": list(tags)}
        )

    def tag_component(self, name: str, tags: str | Iterable[str]) -> None:
        self.create_component(name, tags=tags)

    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("_"):
            raise AttributeError(name)
        raise MltraceError(
            f"{name} reads the store, and this process logs over HTTP to {self.uri} (set_address / "
            "MLTRACE_API_URL): read with the web UI, or point MLTRACE_DB_URI at the store"
        )

    # -- HTTP -----------------------------------------------------------------------------------------------
    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "mltrace"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        request = urllib.request.Request(self.uri + path, data=data, headers=headers, method="POST")
        bound = _bounds.get(self.timeout) or _bounds.setdefault(self.timeout, CallBound(self.timeout))
        return bound.call(lambda deadline: self._exchange(request), self.uri, _nothing)

    def _exchange(self, request: urllib.request.Request) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            detail = _detail(exc)
            if exc.code in (400, 413, 415, 422):  # the run itself: sending it again would not help
                raise InvalidInputError(f"{self.uri} refused the run ({exc.code}): {detail}") from None
            raise StoreUnavailableError(f"{self.uri} answered {exc.code}: {detail}") from None
        except (OSError, ValueError) as exc:  # refused, reset, DNS, TLS, a timeout of the socket
            raise StoreUnavailableError(f"{self.uri} unreachable: {exc}") from None
        try:
            return json.loads(text) if text.strip() else {}
        except ValueError:
            raise StoreUnavailableError(f"{self.uri} answered something that is not JSON") from None


class _Sender:
    """What a spool replay needs: a ``log`` that raises instead of spooling again, and the fingerprint."""

    def __init__(self, remote: RemoteStore) -> None:
        self.remote = remote
        self.fingerprint = remote.fingerprint

    def log(self, record: RunRecord) -> int:
        return self.remote.send(record.checked())


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read().decode("utf-8", "replace"))
        return str(body.get("detail", body))[:300] if isinstance(body, dict) else str(body)[:300]
    except Exception:
        return exc.reason if isinstance(exc.reason, str) else "no detail"


def _nothing() -> None:
    return None


def current() -> RemoteStore | None:
    """The remote store the module API logs to, if an address is set (:func:`config.api_url`)."""
    address = config.api_url()
    return RemoteStore(address, config.api_key()) if address else None


def replay_sender(remote: RemoteStore) -> _Sender:
    """What ``mltrace spool replay`` replays into when an address is set."""
    return _Sender(remote)
