"""The module-level API, mltrace-compatible: ``import mltrace_core as mltrace``.

Every function works on the default store, chosen when called (``set_db_uri`` > ``MLTRACE_DB_URI`` >
SQLite in ``MLTRACE_HOME``); hold a :class:`Store` to work with several.
"""

from __future__ import annotations

import functools
import inspect
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from mltrace_core import stores
from mltrace_core.records import Component, PointerVersion, Review, Run, RunDetail, Trace, TraceDiff
from mltrace_core.runs import ComponentRun, IOPointer, PointerLike
from mltrace_core.store import Store


def default_store() -> Store:
    """The store for the current :func:`get_db_uri`, from the process's registry (:mod:`.stores`)."""
    return stores.get()


def create_component(name: str, description: str = "", owner: str = "", tags: Iterable[str] = ()) -> None:
    default_store().create_component(name, description, owner, tags)


def tag_component(name: str, tags: Iterable[str]) -> None:
    default_store().tag_component(name, tags)


def log_component_run(component_run: ComponentRun) -> int:
    """Log a finished run; return its id. A missing component is created."""
    return default_store().log(component_run)


def get_recent_runs(limit: int = 20) -> list[Run]:
    return default_store().get_recent_runs(limit)


def get_recent_run_ids(limit: int = 20) -> list[int]:
    return default_store().get_recent_run_ids(limit)


def get_history(component_name: str, limit: int = 10) -> list[Run]:
    return default_store().get_history(component_name, limit)


def get_component_run_information(run_id: int) -> RunDetail:
    return default_store().get_component_run_information(run_id)


def get_component_information(component_name: str) -> Component:
    return default_store().get_component(component_name)


def get_components(tag: str | None = None, owner: str | None = None) -> list[Component]:
    return default_store().get_components(tag, owner)


def get_tags() -> list[str]:
    return default_store().get_tags()


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


def backtrace(output_name: str) -> list[tuple[int, Run]]:
    return default_store().backtrace(output_name)


def downstream(pointer_name: str, max_depth: int | None = None) -> Trace:
    return default_store().downstream(pointer_name, max_depth)


def flag_output_id(output_id: str) -> None:
    default_store().flag_output_id(output_id)


def unflag_output_id(output_id: str) -> None:
    default_store().unflag_output_id(output_id)


def unflag_all() -> int:
    return default_store().unflag_all()


def review_flagged_outputs() -> Review:
    return default_store().review_flagged_outputs()


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
        _fail(cr, exc)
        raise
    finally:
        cr.set_end_timestamp()
        (store or default_store()).log(cr)


def register(
    component_name: str,
    input_vars: Iterable[str] = (),
    output_vars: Iterable[str] = (),
    inputs: Iterable[PointerLike] = (),
    outputs: Iterable[PointerLike] = (),
    store: Store | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Log every call of the decorated function as a run of ``component_name``.

    ``input_vars``/``output_vars`` name the function's arguments or local variables whose values (a
    pointer name, an IOPointer, or a list of them) are the run's inputs/outputs, read when it returns.
    ``inputs``/``outputs`` are fixed pointers. A raising function is logged as failed; the exception
    propagates unchanged."""
    input_vars, output_vars = tuple(input_vars), tuple(output_vars)
    wanted = set(input_vars) | set(output_vars)

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        code = fn.__code__

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            cr = ComponentRun(component_name)
            cr.add_inputs(inputs)
            cr.add_outputs(outputs)
            seen: dict[str, Any] = {}
            if wanted:  # arguments are known up front, in case the body never gets to run
                try:
                    seen.update(inspect.signature(fn).bind(*args, **kwargs).arguments)
                except TypeError:
                    pass
            cr.set_start_timestamp()
            try:
                result = _call_capturing_locals(fn, code, wanted, seen, args, kwargs)
            except BaseException as exc:
                _fail(cr, exc)
                raise
            finally:
                cr.set_end_timestamp()
                for names, add in ((input_vars, cr.add_input), (output_vars, cr.add_output)):
                    for var in names:
                        for pointer in _pointers(seen.get(var)):
                            add(pointer)
                (store or default_store()).log(cr)
            return result

        return wrapper

    return decorate


def _call_capturing_locals(fn, code, wanted, seen, args, kwargs):
    """Call ``fn``; when its frame returns (or raises), copy the wanted local variables into ``seen``."""
    if not wanted:
        return fn(*args, **kwargs)
    previous = sys.getprofile()

    def profiler(frame, event, arg):
        if event == "return" and frame.f_code is code:
            seen.update({k: v for k, v in frame.f_locals.items() if k in wanted})
        if previous is not None:
            previous(frame, event, arg)

    sys.setprofile(profiler)
    try:
        return fn(*args, **kwargs)
    finally:
        sys.setprofile(previous)


def _pointers(value: Any) -> list[PointerLike]:
    if value is None:
        return []
    if isinstance(value, (str, IOPointer)):
        return [value]
    if hasattr(value, "__fspath__"):
        return [str(value.__fspath__())]
    if isinstance(value, Iterable):
        return [p for item in value for p in _pointers(item)]
    return [str(value)]


def _fail(cr: ComponentRun, exc: BaseException) -> None:
    cr.status = "failed"
    cr.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
