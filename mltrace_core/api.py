"""The module-level API: mltrace 0.17's functions with its names, signatures and defaults
(``import mltrace_core as mltrace``), plus our own (``run``, ``trace``, ``downstream``...).

Every function works on the default store, chosen when called (see :func:`mltrace_core.get_db_uri`);
hold a :class:`Store` to work with several. Where we differ from 0.17, ``docs/porting.md`` says how.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from mltrace_core import config, olemit, remote, stores
from mltrace_core.artifacts import load, save
from mltrace_core.capture import Spec, decorate
from mltrace_core.entities.component import STALENESS_THRESHOLD, Component
from mltrace_core.entities.component_run import ComponentRun
from mltrace_core.entities.io_pointer import IOPointer, PointerLike
from mltrace_core.errors import NotFoundError
from mltrace_core.gitinfo import git_hash as get_git_hash
from mltrace_core.gitinfo import git_tags as get_git_tags
from mltrace_core.records import PointerVersion, Review, Run, RunDetail, Trace, TraceDiff
from mltrace_core.remote import RemoteStore
from mltrace_core.store import Store
from mltrace_core.webtrace import web_tree

log = logging.getLogger("mltrace_core")

__all__ = ["get_git_hash", "get_git_tags", "load", "save"]  # re-exported; the rest is defined here


def default_store() -> Store:
    """The store for the current :func:`get_db_uri`, from the process's registry (:mod:`.stores`)."""
    return stores.get()


# -- the store ------------------------------------------------------------------------------------
def set_address(address: str | None) -> None:
    """mltrace 0.17: log to the mltrace server at ``address`` instead of a database. Here: the mltrace web
    API on the Airflow API server (``http://host:8080``, or a bare host: port 8080), with the credential
    in ``MLTRACE_API_KEY``; the same as setting ``MLTRACE_API_URL``. Runs and components are then written
    over HTTP (bounded, spooled when the server cannot take them, never doubled: :mod:`.remote`); queries
    still read the store. ``None`` goes back to the database."""
    config.set_api_url(address)


def writer(store: Store | None = None) -> Store | RemoteStore:
    """Where the module API writes: ``store`` if given, else the web API when an address is set
    (:func:`set_address`, ``MLTRACE_API_URL``), else :func:`default_store`."""
    return store or remote.current() or default_store()


def clean_db() -> None:
    """Delete every component, run and pointer of the default store (the schema stays). No undo."""
    default_store().delete_everything()


# -- logging --------------------------------------------------------------------------------------
def create_component(name: str, description: str = "", owner: str = "", tags: Iterable[str] = ()) -> None:
    """Create a component, or update the description/owner given (non-empty) and add the tags."""
    writer().create_component(name, description, owner, tags)


def tag_component(component_name: str, tags: Iterable[str]) -> None:
    writer().tag_component(component_name, tags)


def log_component_run(
    component_run: ComponentRun,
    set_dependencies_from_inputs: bool = True,
    staleness_threshold: int = STALENESS_THRESHOLD,
) -> int | None:
    """Log a finished run; return its id (``None`` when it was logged over HTTP and the server could not
    take it now: it is spooled, see :func:`set_address`). A missing component is created.

    Lineage always follows the inputs (the one rule, ``write.py``): ``set_dependencies_from_inputs=False``
    cannot turn it off (a warning says so). Components named with ``set_upstream`` become inputs: the
    outputs of their latest runs, at the versions those wrote."""
    store = writer()
    if not set_dependencies_from_inputs:
        log.warning(
            "mltrace: lineage always follows a run's inputs; set_dependencies_from_inputs=False is ignored"
        )
    for name in component_run.dependencies:
        latest = store.get_history(name, 1)
        if not latest:
            raise NotFoundError(f"set_upstream: component {name!r} has no runs")
        detail = store.get_component_run_information(latest[0].id)
        if not detail.output_versions:
            log.warning("mltrace: set_upstream: the latest run of %r wrote nothing to depend on", name)
        for pointer, version in detail.output_versions:
            component_run.add_input(IOPointer(pointer, version=version))
    if component_run.staleness_threshold is None:  # stored: the run is judged by 0.17's rules (staleness.py)
        component_run.staleness_threshold = staleness_threshold
    return olemit.log(store, component_run)


def register(
    component_name: str,
    inputs: Iterable[PointerLike] = [],  # noqa: B006 -- 0.17's signature; never mutated
    outputs: Iterable[PointerLike] = [],  # noqa: B006
    input_vars: Iterable[str] = [],  # noqa: B006
    output_vars: Iterable[str] = [],  # noqa: B006
    input_kwargs: dict[str, str] = {},  # noqa: B006
    output_kwargs: dict[str, str] = {},  # noqa: B006
    endpoint: bool = False,
    staleness_threshold: int = STALENESS_THRESHOLD,
    auto_log: bool = False,
    *,
    store: Store | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Log every call of the decorated function as a run of ``component_name`` (mltrace 0.17).

    ``inputs``/``outputs``: fixed pointers. ``input_vars``/``output_vars``: names of the function's
    arguments or local variables whose values when it returns (a name, an IOPointer, or a list of them)
    are pointers. ``input_kwargs``/``output_kwargs``: ``{name_var: value_var}``, a pointer named by one
    variable whose version is the value of the other (lists pair up). ``endpoint``: the outputs are
    ENDPOINTs. ``auto_log``: arguments and locals that look like data or models (0.17's rule) are
    pointers too. ``load``/``save`` inside the function add their files. What is raised before the
    function runs, and what is only a warning after, is in :mod:`mltrace_core.capture`."""
    spec = Spec(
        component=component_name,
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        input_vars=tuple(input_vars),
        output_vars=tuple(output_vars),
        input_kwargs=dict(input_kwargs),
        output_kwargs=dict(output_kwargs),
        endpoint=endpoint,
        staleness_threshold=staleness_threshold,
        auto_log=auto_log,
        store=store,
    )
    return lambda fn: decorate(spec, fn)


@contextmanager
def run(
    component_name: str,
    inputs: Iterable[PointerLike] = (),
    outputs: Iterable[PointerLike] = (),
    store: Store | None = None,
) -> Iterator[ComponentRun]:
    """Log the enclosed block as one run. Add pointers found on the way with ``cr.add_input/add_output``;
    if the block raises, the run is logged as failed and the exception goes on."""
    cr = ComponentRun(component_name)
    cr.add_inputs(inputs)
    cr.add_outputs(outputs)
    cr.set_start_timestamp()
    try:
        yield cr
    except BaseException as exc:
        cr.status = "failed"
        cr.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        raise
    finally:
        cr.set_end_timestamp()
        olemit.log(writer(store), cr)


def create_random_ids(num_outputs: int = 1) -> list[str]:
    """``num_outputs`` fresh ids (uuid4 text) to name outputs with."""
    return [str(uuid.uuid4()) for _ in range(num_outputs)]


def add_notes_to_component_run(component_run_id: int | str, notes: str) -> str:
    """Replace a logged run's notes; return them."""
    return default_store().add_notes(component_run_id, notes)


def flag_output_id(output_id: str) -> bool:
    """Flag an output as wrong (for ``review_flagged_outputs``); return ``True``."""
    default_store().flag_output_id(output_id)
    return True


def unflag_output_id(output_id: str) -> bool:
    """Remove an output's flag; return ``False`` (its flag now)."""
    default_store().unflag_output_id(output_id)
    return False


def unflag_all() -> int:
    """Remove every flag; return how many there were."""
    return default_store().unflag_all()


# -- queries --------------------------------------------------------------------------------------
def get_recent_runs(limit: int = 20) -> list[Run]:
    return default_store().get_recent_runs(limit)


def get_recent_run_ids(limit: int = 5, last_run_id: int | str | None = None) -> list[int]:
    """Ids of the ``limit`` newest runs; ``last_run_id``: the next ones after that run (paging)."""
    return default_store().get_recent_run_ids(limit, last_run_id)


def get_history(
    component_name: str,
    limit: int = 10,
    date_lower: datetime | str | None = datetime.min,
    date_upper: datetime | str | None = datetime.max,
) -> list[Run]:
    """The component's runs that started between ``date_lower`` and ``date_upper``, newest first, with
    their git hash, git tags, code snapshot and upstream component names."""
    store = default_store()
    return store.with_code_details(store.get_history(component_name, limit, date_lower, date_upper))


def get_component_run_information(component_run_id: int | str) -> RunDetail:
    return default_store().get_component_run_information(component_run_id)


def get_component_information(component_name: str) -> Component:
    return default_store().get_component(component_name)


def get_components(tag: str | None = "", owner: str | None = "") -> list[Component]:
    """Every component, or those with the tag and/or owner given (``""``: any, as 0.17)."""
    return default_store().get_components(tag or None, owner or None)


def get_all_tags() -> list[str]:
    return default_store().get_tags()


get_tags = get_all_tags


def get_io_pointer(io_pointer_id: str, io_pointer_val: Any = None, create: bool = True) -> IOPointer:
    """The pointer named ``io_pointer_id`` (its type and flag), created if missing unless ``create`` is
    false (then :class:`NotFoundError`); ``io_pointer_val`` is its value (version) in the answer."""
    from mltrace_core.values import pointer_type_for, type_text

    guess = type_text(pointer_type_for(io_pointer_id)) if isinstance(io_pointer_id, str) else None
    name, ptype, flagged = default_store().get_pointer(io_pointer_id, create=create, type=guess)
    value = "" if io_pointer_val is None else io_pointer_val
    return IOPointer(name, value, ptype, flagged)


def trace(output_name: str, max_depth: int | None = None, as_of: datetime | str | None = None) -> Trace:
    """The lineage of ``output_name``: any address (``NAME``, ``NAME@VERSION``, ``run:ID``; see
    :meth:`Store.resolve`), optionally as of a time."""
    return default_store().trace(output_name, max_depth, as_of)


def versions(pointer_name: str) -> list[PointerVersion]:
    return default_store().versions(pointer_name)


def diff(
    a: str, b: str, as_of_a: datetime | str | None = None, as_of_b: datetime | str | None = None
) -> TraceDiff:
    return default_store().diff(a, b, as_of_a, as_of_b)


def backtrace(output_pointer: str) -> list[tuple[int, Run]]:
    """The runs that produced ``output_pointer``, as (depth, run) pairs: depth 0 wrote it."""
    if not isinstance(output_pointer, str):
        raise NotFoundError(f"no pointer named {output_pointer!r}: pointer names are strings")
    store = default_store()
    pairs = store.backtrace(output_pointer)
    runs = store.with_code_details([run for _, run in pairs])
    return [(depth, run) for (depth, _), run in zip(pairs, runs, strict=True)]


def web_trace(output_id: str) -> list[dict[str, Any]]:
    """0.17's trace for its UI: one tree (a list of one dict), each run with its outputs and the runs it
    depends on as children; JSON-ready."""
    store = default_store()
    graph = store.trace(output_id)
    if not graph.nodes:
        raise NotFoundError(f"ID {output_id} does not exist.")
    names = {o for node in graph.nodes for o in node.run.outputs}
    return [web_tree(graph, store.get_pointer_types(names))]


def downstream(pointer_name: str, max_depth: int | None = None) -> Trace:
    return default_store().downstream(pointer_name, max_depth)


def review_flagged_outputs() -> Review:
    """Flagged outputs and the runs most common to their traces; unpacks as 0.17's pair."""
    return default_store().review_flagged_outputs()
