"""The HTML pages: server-rendered from the core's records, every value escaped by the templates.

Reads are GETs with the name in a query parameter or one encoded path segment. The command box and the
flag buttons POST (writes need the edit permission and the page's CSRF token); a POST answers with a
redirect to the page that shows the result.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from mltrace_airflow.compat import GetUserDep
from mltrace_airflow.web import actions, auth, deps, tabs, versioned
from mltrace_airflow.web.commands import HELP
from mltrace_airflow.web.deps import StoreDep
from mltrace_airflow.web.links import Links
from mltrace_airflow.web.run_commands import run_command
from mltrace_core import InvalidInputError, Store
from mltrace_core.validation import MAX_LIMIT

router = APIRouter()
HOME_LIMIT = 50
REVIEW_ROWS = 50  # the likeliest culprits; /api/review lists them all
REVIEW_FLAGS = 20  # the most recent flag records the review page shows; /api/flags lists them all


def page(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    return request.app.state.render(request, template, status_code=status_code, **context)


def home_page(request: Request, store: Store, status_code=200, limit=HOME_LIMIT, **context):
    runs = store.get_recent_runs(limit)
    return page(
        request,
        "home.html",
        status_code,
        runs=runs,
        limit=limit,
        help=HELP,
        csrf=auth.csrf_token(request),
        **context,
    )


def _text(form, field: str) -> str | None:
    """A form field's text; ``None`` if missing or a file upload."""
    value = form.get(field)
    return value if isinstance(value, str) else None


@router.get("/", response_class=HTMLResponse)
def home(request: Request, store: StoreDep, limit: str | None = None):
    return home_page(request, store, limit=deps.limit(limit, HOME_LIMIT))


@router.post("/command", response_class=HTMLResponse)
async def command(request: Request, store: StoreDep, user: GetUserDep):
    form = await request.form()
    line, token = _text(form, "q") or "", _text(form, auth.CSRF_FIELD)
    result = await run_in_threadpool(run_command, request, store, user, line, token)
    if result.redirect:
        return RedirectResponse(result.redirect, status_code=303)
    return await run_in_threadpool(
        home_page, request, store, result.status, command=line, message=result.message
    )


@router.post("/flag")
async def flag(request: Request, store: StoreDep, user: auth.EditorDep):
    form = await request.form()
    auth.check_form_write(request, _text(form, auth.CSRF_FIELD))
    output, action = _text(form, "output"), _text(form, "action")
    if output is None or action not in ("flag", "unflag"):
        raise InvalidInputError("send output=<pointer name> and action=flag or unflag")
    if action == "flag":
        await run_in_threadpool(store.flag, output, _text(form, "reason"), user.get_name())
    else:
        await run_in_threadpool(store.unflag, output)
    links = Links(request.scope.get("root_path", ""))
    return RedirectResponse(links.review(**{f"{action}ged": output}), status_code=303)


@router.get("/history", response_class=HTMLResponse)
def history_by_query(request: Request, store: StoreDep, component: str, limit: str | None = None):
    n = deps.limit(limit, 10)
    runs = store.get_history(component, min(n + 1, MAX_LIMIT))  # one more: the run before the oldest shown
    info = store.get_component(component)
    marks = versioned.input_changes(runs, store.get_pointer_versions(r.id for r in runs))
    return page(request, "history.html", component=info, runs=runs[:n], limit=n, marks=marks)


@router.get("/history/{component:path}", response_class=HTMLResponse)
def history(request: Request, store: StoreDep, component: str, limit: str | None = None):
    return history_by_query(request, store, component, limit)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run(request: Request, store: StoreDep, run_id: str):
    detail = store.get_component_run_information(run_id)
    return page(
        request,
        "run.html",
        run=detail,
        related=related_runs(store, detail),
        previous=store.previous_run(detail.id),
    )


def related_runs(store: Store, detail) -> dict:
    """The upstream and downstream runs of a run, by id, so the page can name them."""
    if detail is None:
        return {}
    return {r.id: r for r in store.get_runs(detail.dependencies + detail.downstream)}


def trace_json(graph) -> str:
    """The trace as JSON safe inside ``<script type="application/json">``."""
    return json_script(graph.to_dict())


def json_script(data) -> str:
    """``data`` as JSON safe inside ``<script type="application/json">``."""
    text = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()  # compact, UTF-8, as json.dumps
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@router.get("/trace", response_class=HTMLResponse)
def trace(
    request: Request,
    store: StoreDep,
    user: GetUserDep,
    output: str,
    depth: str | None = None,
    as_of: str | None = None,
    pointer: str | None = None,
):
    """The trace of any address (``as_of`` for a plain name). ``pointer``: the output a ``run:ID`` trace
    is about (the run page's links say which), so the version picker can list its versions."""
    max_depth = deps.depth(depth)  # bad parameters first, before any store call
    where = store.resolve(output, deps.time(as_of))
    graph = store.trace(where, max_depth)
    about = versioned.pointer_of(where, graph, pointer)
    rows = store.versions(about, versioned.PICKER_ROWS) if about else []
    if about and where.run is not None and rows and all(r.run != where.run for r in rows):
        rows += store.versions(about, 2, start=where.run)  # an older version: it and the one before it
    marks = store.lineage_marks(n.run.id for n in graph.nodes)
    return page(
        request,
        "trace.html",
        graph=graph,
        data=json_script({**graph.to_dict(), "marks": marks.to_dict()}),
        marks=marks,
        where=where,
        about=about,
        picker=versioned.picker(rows, where),
        may_edit=auth.may_edit(user),
        flagged=about is not None and about in store.get_flagged(),
        csrf=auth.csrf_token(request),
    )


@router.get("/versions", response_class=HTMLResponse)
def versions(request: Request, store: StoreDep, name: str, limit: str | None = None):
    n = deps.limit(limit, versioned.PAGE_ROWS)
    return page(request, "versions.html", name=name, rows=store.versions(name, n), limit=n)


@router.get("/diff", response_class=HTMLResponse)
def diff(
    request: Request,
    store: StoreDep,
    a: str,
    b: str,
    as_of_a: str | None = None,
    as_of_b: str | None = None,
):
    result = store.diff(a, b, deps.time(as_of_a), deps.time(as_of_b))
    view = versioned.diff_view(result, store.get_pointer_versions([result.a.run, result.b.run]))
    return page(request, "diff.html", result=result, view=view, data=json_script(view.graph))


@router.get("/downstream", response_class=HTMLResponse)
def downstream(request: Request, store: StoreDep, pointer: str, depth: str | None = None):
    graph = store.downstream(pointer, deps.depth(depth))
    return page(request, "downstream.html", graph=graph, data=trace_json(graph))


@router.get("/tags", response_class=HTMLResponse)
def tags(request: Request, store: StoreDep, tag: str | None = None):
    if tag is not None:
        return page(request, "components.html", components=store.get_components(tag=tag), tag=tag)
    return page(request, "tags.html", tags=store.get_tags())


@router.get("/tags/{tag:path}", response_class=HTMLResponse)
def tag(request: Request, store: StoreDep, tag: str):
    return page(request, "components.html", components=store.get_components(tag=tag), tag=tag)


@router.get("/components", response_class=HTMLResponse)
def components(request: Request, store: StoreDep, tag: str | None = None, owner: str | None = None):
    found = store.get_components(tag=tag or None, owner=owner or None)
    return page(request, "components.html", components=found, tag=tag, owner=owner)


@router.get("/review", response_class=HTMLResponse)
def review(
    request: Request,
    store: StoreDep,
    user: GetUserDep,
    flagged: str | None = None,
    unflagged: str | None = None,
):
    result = store.review_flagged_outputs(limit=REVIEW_ROWS + 1)  # one more: whether there are more
    impacts, more_impacts = actions.flag_impacts(store)
    return page(
        request,
        "review.html",
        review=result,
        history=result.flags[:REVIEW_FLAGS],
        more_history=len(result.flags) > REVIEW_FLAGS,
        impacts=impacts,
        more_impacts=more_impacts,
        may_rerun=actions.may_rerun(user),
        culprits=result.runs[:REVIEW_ROWS],
        more_culprits=len(result.runs) > REVIEW_ROWS,
        done_flag=flagged,
        done_unflag=unflagged,
        may_edit=auth.may_edit(user),
        csrf=auth.csrf_token(request),
    )


@router.get("/ti", response_class=HTMLResponse)
def task_instance(
    request: Request,
    store: StoreDep,
    dag_id: str | None = None,
    run_id: str | None = None,
    task_id: str | None = None,
    map_index: str | None = None,
    try_number: str | None = None,
):
    """The task-instance tab: the run of the latest (or the given) try, and the other tries."""
    runs = tabs.task_runs(store, dag_id, run_id, deps.airflow_id(task_id, "task_id"), map_index, try_number)
    detail = store.get_component_run_information(runs[0].id) if runs else None
    flagged_reads = [m for m in store.lineage_marks([detail.id]).flagged if m[3] == "input"] if detail else []
    ident = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": deps.map_index(map_index)}
    related = related_runs(store, detail)
    previous = store.previous_run(detail.id) if detail else None
    return page(
        request,
        "ti.html",
        run=detail,
        related=related,
        previous=previous,
        tries=runs,
        flagged_reads=flagged_reads,
        ident=ident,
        try_number=try_number,
    )


@router.get("/dagrun", response_class=HTMLResponse)
def dag_run(request: Request, store: StoreDep, dag_id: str | None = None, run_id: str | None = None):
    """The DAG-run tab: every component run logged for that DAG run."""
    runs = tabs.task_runs(store, dag_id, run_id)
    return page(request, "dagrun.html", runs=runs, dag_id=dag_id, run_id=run_id)
