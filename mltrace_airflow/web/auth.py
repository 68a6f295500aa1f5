"""Who may see and change what. Airflow does not protect plugin apps, so every route depends on these.

- Read (every page, API route and static file): ``requires_access_view(AccessView.PLUGINS)``: a logged-in
  user allowed to view plugins (FAB: "can read on Plugins", by default the Op and Admin roles).
- Edit (flag/unflag): the asset edit permission (``is_authorized_asset(method="PUT")``; FAB: "can edit on
  Assets", Op and Admin). A pointer is what Airflow calls an asset, and flagging one annotates it.
- Write (OpenLineage ingestion, the HTTP write API): ``Authorization: Bearer`` with either the ingestion
  key (``[mltrace] ingestion_key``, compared in constant time) or an Airflow token of a user allowed to
  edit. No cookie: producers are programs, and a cookie would ride along on requests other sites start.
  Without credentials, or with ones that are neither, 401; a user without the permission, 403. These
  routes are outside ``can_view`` (a producer holding the key is no Airflow user).

The browser authenticates with Airflow's ``_token`` cookie (a JWT set at login); scripts send
``Authorization: Bearer``. A cookie rides along on requests other sites trigger, so every write made with
it must also carry a token only our own pages know (:func:`csrf_token`) and must not come from another
site (``Sec-Fetch-Site``); JSON writes must be ``application/json``, which a form cannot send.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from mltrace_airflow import config
from mltrace_airflow.compat import (
    COOKIE_NAME_JWT_TOKEN,
    AccessView,
    AssetDetails,
    BaseUser,
    GetUserDep,
    get_auth_manager,
    requires_access_view,
)

CSRF_FIELD = "csrf_token"
EDIT_DENIED = "Flagging and unflagging outputs needs the permission to edit assets."
WRITE_DENIED = "Writing lineage to mltrace needs the permission to edit assets (or the ingestion key)."
NOT_AUTHENTICATED = (
    "Send Authorization: Bearer with the ingestion key ([mltrace] ingestion_key) or an Airflow token "
    "(POST /auth/token)."
)
KEY_TTL = 10.0  # seconds the ingestion key is kept before it is read again (a _CMD runs a command)

can_view = Depends(requires_access_view(AccessView.PLUGINS))


def may_edit(user: BaseUser) -> bool:
    """Whether ``user`` may flag and unflag outputs."""
    return get_auth_manager().is_authorized_asset(method="PUT", details=AssetDetails(), user=user)


def require_edit(user: GetUserDep) -> BaseUser:
    """A dependency: the user, if allowed to edit; else 403."""
    if not may_edit(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, EDIT_DENIED)
    return user


EditorDep = Annotated[BaseUser, Depends(require_edit)]  # the user, allowed to edit (else 403)


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None


def csrf_token(request: Request) -> str:
    """A token bound to the caller's session cookie: another site can neither read the cookie nor
    compute this. Derived, not stored, so it works across API server workers."""
    credential = request.cookies.get(COOKIE_NAME_JWT_TOKEN) or ""
    return hashlib.sha256(b"mltrace-csrf\0" + credential.encode()).hexdigest()


def check_same_site(request: Request) -> None:
    """Refuse a write the browser says another site started (cookies ride along on those)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Cross-site requests may not change mltrace data.")


def check_form_write(request: Request, submitted: str | None) -> None:
    """A form POST that changes data: same site, and with the page's token unless authenticated by a
    bearer token (which browsers never attach on their own)."""
    check_same_site(request)
    if _bearer(request):
        return
    if not submitted or not hmac.compare_digest(submitted, csrf_token(request)):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "The form has expired or did not come from mltrace; reload the page."
        )


def check_json_write(request: Request) -> None:
    """A JSON API write: same site, and a JSON body (a cross-site form cannot send one without CORS)."""
    check_same_site(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "Send a JSON body (application/json).")


class _KeyCache:
    """``[mltrace] ingestion_key``, read at most every :data:`KEY_TTL` seconds: reading it may run a
    command (``_CMD``) or ask a secrets backend (``_SECRET``), too slow for every event."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: tuple[str | None, float] | None = None

    def get(self) -> str | None:
        with self._lock:
            if self._value is None or time.monotonic() - self._value[1] > KEY_TTL:
                self._value = (config.ingestion_key(), time.monotonic())
            return self._value[0]

    def clear(self) -> None:
        with self._lock:
            self._value = None


ingestion_key = _KeyCache()


async def require_writer(request: Request) -> None:
    """A dependency of the write routes: the ingestion key, or a token of a user allowed to edit."""
    token = _bearer(request)
    if token is None:
        raise _unauthenticated(NOT_AUTHENTICATED)
    key = ingestion_key.get()
    if key and hmac.compare_digest(
        token.encode("utf-8", "surrogatepass"), key.encode("utf-8", "surrogatepass")
    ):
        return
    try:
        user = await get_auth_manager().get_user_from_token(token)
    except Exception:  # expired, forged, not a JWT at all (a wrong key): not authenticated, say no more
        raise _unauthenticated(
            "The bearer token is neither the ingestion key nor a valid Airflow token."
        ) from None
    if not may_edit(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, WRITE_DENIED)


def _unauthenticated(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})
