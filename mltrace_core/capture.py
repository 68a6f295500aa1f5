"""``register`` and ``Component.run``: every call of a decorated function is logged as one run, as mltrace
0.17 logged it -- inputs and outputs from the function's arguments and local variables, from
``load``/``save``, or found by ``auto_log``; the git commit, its tags and the function's source; the
component's tests before and after.

When a problem is raised, and when it is only a warning:

- before the function runs (a ``ValueError``, nothing logged): a variable named in ``input_vars``,
  ``output_vars``, ``input_kwargs`` or ``output_kwargs`` that is neither an argument nor a local variable
  of the function; an invalid component name; ``input_kwargs`` between two arguments whose lengths
  differ; ``skip_before``/``skip_after`` among a Component function's arguments;
- after the function ran, never raised (0.17 raised some of these, losing the return value): a variable
  that was never assigned, a value that is no valid pointer name, lists of different lengths. Each is a
  warning on the ``mltrace_core`` logger, and the run is logged with the pointers that were valid.

A function that raises (or whose before-test fails) is logged as a failed run with what was known, and
its exception propagates unchanged; a failing after-test marks the run failed and propagates too.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
import traceback
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any, Literal

from mltrace_core import artifacts, gitinfo, olemit, remote, stores
from mltrace_core import validation as valid
from mltrace_core.entities.component_run import ComponentRun
from mltrace_core.entities.io_pointer import IOPointer, PointerLike
from mltrace_core.entities.test import collecting
from mltrace_core.errors import InvalidInputError
from mltrace_core.values import PointerType, pointer_type_for, version_of

if TYPE_CHECKING:
    from _typeshed import TraceFunction

log = logging.getLogger("mltrace_core")

_SKIP_KEYS = ("skip_before", "skip_after")
_MAX_SNAPSHOT = 2**16  # 0.17 kept the source of functions shorter than this


@dataclass(frozen=True)
class Spec:
    """What a decorator was asked to log (``register``'s arguments; ``owner``: the Component)."""

    component: str
    inputs: tuple[PointerLike, ...] = ()
    outputs: tuple[PointerLike, ...] = ()
    input_vars: tuple[str, ...] = ()
    output_vars: tuple[str, ...] = ()
    input_kwargs: dict[str, str] = field(default_factory=dict)
    output_kwargs: dict[str, str] = field(default_factory=dict)
    endpoint: bool = False
    staleness_threshold: int | None = None
    auto_log: bool = False
    owner: Any = None  # the Component whose run() made this, for its tests and metadata
    user_kwargs: dict[str, Any] = field(default_factory=dict)
    store: Any = None  # a Store; None: the default store when called


def decorate(spec: Spec, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return _Call(spec, fn, args, kwargs).run()

    return wrapper


class Artifacts:
    """What ``load`` and ``save`` saw during one decorated call: (path, object) pairs."""

    def __init__(self, component: str) -> None:
        self.component = component
        self.loaded: list[tuple[str, Any]] = []
        self.saved: list[tuple[str, Any]] = []


_artifacts: ContextVar[Artifacts | None] = ContextVar("mltrace_artifacts", default=None)


def current_artifacts() -> Artifacts | None:
    """The artifacts of the decorated call running now (``None``: outside any)."""
    return _artifacts.get()


class _Call:
    def __init__(
        self, spec: Spec, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        self.spec, self.fn, self.args, self.kwargs = spec, fn, args, kwargs
        self.code = getattr(inspect.unwrap(fn), "__code__", None)
        self.cr = ComponentRun(spec.component)
        self.locals: dict[str, Any] = {}
        self.arguments: dict[str, Any] = {}

    def run(self) -> Any:
        self._check_before_running()
        spec, cr = self.spec, self.cr
        cr.set_start_timestamp()
        collected = Artifacts(spec.component)
        token = _artifacts.set(collected)
        try:
            ran = False
            try:
                self._before_tests()
                ran = True
                result = call_capturing_locals(self.fn, self.args, self.kwargs, self.locals)
            except BaseException as exc:
                cr.set_end_timestamp()
                _fail(cr, exc)
                self._log(collected, outputs=ran)  # a failed before-test: the function wrote nothing
                raise
            cr.set_end_timestamp()
            try:
                self._after_tests()
            except BaseException as exc:
                _fail(cr, exc)
                self._log(collected)
                raise
            self._log(collected)
            return result
        finally:
            _artifacts.reset(token)

    # -- before the function runs ----------------------------------------------------------------
    def _check_before_running(self) -> None:
        spec = self.spec
        valid.name(spec.component, "component name")
        names = _variables(self.code)
        if names is not None:
            wanted = [*spec.input_vars, *spec.output_vars]
            for key, val in [*spec.input_kwargs.items(), *spec.output_kwargs.items()]:
                wanted += [key, val]
            for var in wanted:
                if var not in names:
                    raise InvalidInputError(
                        f"Variable {var} not in current stack frame: it is neither an argument nor a "
                        f"local variable of {self.fn.__qualname__}"
                    )
        try:
            bound = inspect.signature(self.fn).bind(*self.args, **self.kwargs)
            bound.apply_defaults()
            self.arguments = dict(bound.arguments)
        except (TypeError, ValueError):  # the call itself will say what is wrong
            self.arguments = {}
        for key, val in spec.input_kwargs.items():
            if key in self.arguments and val in self.arguments:
                _paired(self.arguments[key], self.arguments[val], key, val)  # raises on a length mismatch
        if spec.owner is not None and self.code is not None:
            clash = set(_SKIP_KEYS) & (set(inspect.getfullargspec(self.fn).args) | set(self.kwargs))
            if clash:
                raise InvalidInputError(
                    f"skip_before or skip_after cannot be in the arguments of the function {self.fn.__name__}"
                )

    def _renamed(self, values: dict[str, Any]) -> dict[str, Any]:
        inverse = {v: k for k, v in self.spec.user_kwargs.items() if isinstance(v, str)}
        return {inverse.get(k, k): v for k, v in values.items()}

    def _before_tests(self) -> None:
        owner = self.spec.owner
        if owner is None or self.spec.user_kwargs.get("skip_before"):
            return
        # As 0.17: positional arguments by name (renamed), then keyword arguments as given.
        positional = dict(zip(inspect.getfullargspec(self.fn).args, self.args, strict=False))
        with collecting("before", self.cr.test_results):
            owner.beforeRun(**{**self._renamed(positional), **self.kwargs})

    def _after_tests(self) -> None:
        owner = self.spec.owner
        if owner is None or self.spec.user_kwargs.get("skip_after"):
            return
        with collecting("after", self.cr.test_results):
            owner.afterRun(**self._renamed(self.locals))

    # -- after it ran ----------------------------------------------------------------------------
    def _log(self, collected: Artifacts, outputs: bool = True) -> None:
        """Add what was found, then log the run; problems become warnings (see the module docstring)."""
        spec, cr = self.spec, self.cr
        found = {**self.arguments, **self.locals}
        out_type = PointerType.ENDPOINT if spec.endpoint else None
        inputs: list[IOPointer] = []
        out: list[IOPointer] = []
        if spec.auto_log:
            inputs += self._auto_pointers(_data_and_models(self.arguments), "input")
        for var in spec.input_vars:
            inputs += self._from_var(found, var, None, "input")
        for key, val in spec.input_kwargs.items():
            inputs += self._from_pair(found, key, val, None, "input")
        inputs += [p for p in (self._fixed(name, None, "input") for name in spec.inputs) if p]
        inputs += [p for p in (self._valued(path, obj, None, "load") for path, obj in collected.loaded) if p]
        if outputs:
            for var in spec.output_vars:
                out += self._from_var(found, var, out_type, "output")
            for key, val in spec.output_kwargs.items():
                out += self._from_pair(found, key, val, out_type, "output")
            out += [p for p in (self._fixed(name, out_type, "output") for name in spec.outputs) if p]
            out += [p for p in (self._valued(path, obj, None, "save") for path, obj in collected.saved) if p]
            if spec.auto_log:
                rest = {k: v for k, v in self.locals.items() if k not in self.arguments}
                out += self._auto_pointers(_data_and_models(rest), "output")
        cr.add_inputs(inputs)
        cr.add_outputs(out)
        cr.git_hash, tags = gitinfo.cached()
        cr.git_tags = tags
        cr.code_snapshot = _source(self.fn)
        cr.staleness_threshold = spec.staleness_threshold
        store = spec.store or remote.current() or stores.get()  # api.writer's choice
        if spec.owner is not None:
            spec.owner._create_in(store)
        try:
            olemit.log(store, cr)
        except InvalidInputError as exc:  # found after the fact: never raised into the pipeline
            log.warning("mltrace: run of %r not logged: %s", spec.component, exc)

    def _checked(self, name: Any, version: str | None, ptype: Any, what: str) -> IOPointer | None:
        try:
            name = valid.name(str(name) if not isinstance(name, str) else name, "pointer name")
            return IOPointer(name, version=valid.version(version), type=ptype or pointer_type_for(name))
        except InvalidInputError as exc:
            log.warning("mltrace: %s of %r left out: %s", what, self.spec.component, exc)
            return None

    def _fixed(self, pointer: Any, ptype: Any, what: str) -> IOPointer | None:
        if isinstance(pointer, IOPointer):
            return self._checked(pointer.name, pointer.version, pointer.type or ptype, what)
        return self._checked(pointer, None, ptype, what)

    def _valued(self, name: Any, value: Any, ptype: Any, what: str) -> IOPointer | None:
        return self._checked(name, version_of(value), ptype, what)

    def _from_var(self, found: dict[str, Any], var: str, ptype: Any, what: str) -> list[IOPointer]:
        if var not in found:
            log.warning("mltrace: %s variable %r of %r was never assigned", what, var, self.spec.component)
            return []
        value = found[var]
        items = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
        pointers = [self._fixed(item, ptype, f"{what} {var!r}") for item in items if item is not None]
        return [p for p in pointers if p]

    def _from_pair(self, found: dict[str, Any], key: str, val: str, ptype: Any, what: str) -> list[IOPointer]:
        missing = [v for v in (key, val) if v not in found]
        if missing:
            log.warning(
                "mltrace: %s variables %r of %r were never assigned", what, missing, self.spec.component
            )
            return []
        if found[key] is None:
            return []
        try:
            pairs = _paired(found[key], found[val], key, val)
        except InvalidInputError as exc:
            log.warning("mltrace: %ss %r of %r left out: %s", what, key, self.spec.component, exc)
            return []
        pointers = [self._valued(name, value, ptype, f"{what} {key!r}") for name, value in pairs]
        return [p for p in pointers if p]

    def _auto_pointers(self, values: dict[str, Any], what: str) -> list[IOPointer]:
        """0.17's auto_log: a value some run wrote before is that output (whatever its name); any other
        is saved as an artifact (:func:`artifacts.save`) and named by its path."""
        store = self.spec.store or stores.get()
        found = []
        for key, value in values.items():
            version = version_of(value)
            if version is None:
                continue
            name = store.writer_of_version(version)
            if name is None:
                name = artifacts.save_artifact(value, artifacts.default_path(key, self.spec.component))
            pointer = self._checked(name, version, None, f"{what} {key!r}")
            if pointer:
                found.append(pointer)
        return found


def _paired(names: Any, values: Any, key: str, val: str) -> list[tuple[Any, Any]]:
    """(name, value) pairs of an ``input_kwargs``/``output_kwargs`` entry: a name and its value, or two
    lists of the same length."""
    if isinstance(names, list):
        if not isinstance(values, list) or len(names) != len(values):
            raise InvalidInputError(f'Value "{val}" does not have the same length as the key "{key}."')
        return list(zip(names, values, strict=True))
    return [(names, values)]


def _variables(code: CodeType | None) -> set[str] | None:
    """Every name a function's frame can hold: arguments, locals, cells and free variables."""
    if code is None:
        return None
    return {*code.co_varnames, *code.co_cellvars, *code.co_freevars}


def _data_and_models(values: dict[str, Any]) -> dict[str, Any]:
    """0.17's choice of what auto_log logs: names with "data" or "model" in them, DataFrames, and
    anything over 1 MB."""
    chosen = {}
    for key, value in values.items():
        kind = type(value)
        frame = kind.__name__ == "DataFrame" and kind.__module__.startswith("pandas")
        if "data" in key or "model" in key or frame or sys.getsizeof(value) > 1e6:
            chosen[key] = value
    return chosen


def _source(fn: Callable[..., Any]) -> str | None:
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):  # defined in a REPL or built in: no source to keep
        return None
    return source if len(source) < _MAX_SNAPSHOT else None


def _fail(cr: ComponentRun, exc: BaseException) -> None:
    cr.status = "failed"
    cr.error = "".join(traceback.format_exception_only(type(exc), exc)).strip()


def call_capturing_locals(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], into: dict[str, Any]
) -> Any:
    """Call ``fn`` and return its result; put its local variables, as they were when it returned or
    raised, into ``into``.

    The frame is taken at its first event by a trace function that then puts the previous one back (as
    0.17 did), so the function runs untraced: no cost per line or call. Any previous tracer (a debugger,
    coverage) keeps seeing every event."""
    code = getattr(inspect.unwrap(fn), "__code__", None)
    if code is None:
        return fn(*args, **kwargs)
    frame: FrameType | None = None
    previous = sys.gettrace()

    def snatch(
        f: FrameType, event: Literal["call", "line", "return", "exception", "opcode"], arg: Any
    ) -> TraceFunction | None:
        nonlocal frame
        if frame is None and event == "call" and f.f_code is code:
            frame = f
            sys.settrace(previous)
        return previous(f, event, arg) if previous is not None else None

    sys.settrace(snatch)
    try:
        return fn(*args, **kwargs)
    finally:
        if sys.gettrace() is snatch:  # the function's code never ran (a wrapper returned early)
            sys.settrace(previous)
        if frame is not None:
            into.update(frame.f_locals)
