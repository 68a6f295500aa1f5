"""Who may see and change what. Airflow does not protect plugin apps, so every route depends on these.

- Read (every page, API route and static file): ``requires_access_view(AccessView.PLUGINS)``: a logged-in
  user allowed to view plugins (FAB: "can read on Plugins", by default the Op and Admin roles).
- Edit (flag/unflag): the asset edit permission (``is_authorized_asset(method="PUT")``; FAB: "can edit on
  Assets", Op and Admin). A pointer is what Airflow calls an asset, and flagging one annotates it.

The browser authenticates with Airflow's ``_token`` cookie (a JWT set at login); scripts send
``Authorization: Bearer``. A cookie rides along on requests other sites trigger, so every write made with
it must also carry a token only our own pages know (:func:`csrf_token`) and must not come from another
site (``Sec-Fetch-Site``); JSON writes must be ``application/json``, which a form cannot send.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Depends, HTTPException, Request, status

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

can_view = Depends(requires_access_view(AccessView.PLUGINS))


def may_edit(user: BaseUser) -> bool:
    """Whether ``user`` may flag and unflag outputs."""
    return get_auth_manager().is_authorized_asset(method="PUT", details=AssetDetails(), user=user)


def require_edit(user: GetUserDep) -> BaseUser:
    """A dependency: the user, if allowed to edit; else 403."""
    if not may_edit(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, EDIT_DENIED)
    return user


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
