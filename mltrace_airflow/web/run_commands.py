"""What the command box does with a parsed command: a redirect to the page that answers it, or a message
shown on the home page (unknown command, unknown name, no permission), never an error page."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request

from mltrace_airflow.web import auth
from mltrace_airflow.web.commands import CommandError, parse
from mltrace_airflow.web.links import Links
from mltrace_core import InvalidInputError, NotFoundError, Store


@dataclass(frozen=True)
class Result:
    redirect: str | None = None
    message: str | None = None
    status: int = 200


def run_command(request: Request, store: Store, user, line: str, token: str | None) -> Result:
    links = Links(request.scope.get("root_path", ""))
    try:
        cmd = parse(line)
    except CommandError as exc:
        return Result(message=str(exc))
    try:
        if cmd.is_write:
            return _write(request, store, user, cmd, token, links)
        return Result(redirect=_read(store, cmd, links))
    except (NotFoundError, InvalidInputError) as exc:
        return Result(message=_sentence(exc))


def _read(store: Store, cmd, links: Links) -> str:
    """The page that answers a read command, after checking that what it names exists."""
    if cmd.verb == "recent":
        return links.home(limit=cmd.limit)
    if cmd.verb == "review":
        return links.review()
    if cmd.verb == "tag":
        return links.tag(cmd.arg)
    if cmd.verb == "inspect":
        store.get_component_run_information(cmd.arg)
        return links.run(int(cmd.arg))
    if cmd.verb == "history":
        store.get_history(cmd.arg, 1)
        return links.history(cmd.arg, cmd.limit if cmd.limit != 10 else None)
    if cmd.verb == "versions":
        store.versions(cmd.arg, 1)
        return links.versions(cmd.arg)
    if cmd.verb == "diff":
        store.resolve(cmd.arg)
        store.resolve(cmd.other)
        return links.diff(cmd.arg, cmd.other)
    store.trace(cmd.arg, max_depth=0, as_of=cmd.as_of)  # "trace"
    return links.trace(cmd.arg, as_of=cmd.as_of)


def _write(request: Request, store: Store, user, cmd, token: str | None, links: Links) -> Result:
    try:
        auth.check_form_write(request, token)
    except HTTPException as exc:
        return Result(message=str(exc.detail), status=exc.status_code)
    if not auth.may_edit(user):
        return Result(message=auth.EDIT_DENIED, status=403)
    if cmd.verb == "flag":
        store.flag(cmd.arg, by=user.get_name())
        return Result(redirect=links.review(flagged=cmd.arg))
    store.unflag(cmd.arg)
    return Result(redirect=links.review(unflagged=cmd.arg))


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
