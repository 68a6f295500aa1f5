"""``Component``: a named step of a pipeline. One class for both of its lives:

- what queries return (``get_components``, ``get_component_information``): a read-only record with its
  tags, latest run and number of runs, whose ``to_dict()`` is the CLI's and the web API's JSON;
- mltrace 0.17's framework class: ``Component(name, owner, description, beforeTests, afterTests, tags)``,
  subclassed by users, whose :meth:`Component.run` decorator logs every call of a function as a run and
  runs the component's tests around it.

One class, because 0.17 code does both with the same object (``get_component_information("x").run``).
Properties are read-only as in 0.17 (setting ``name`` is an ``AttributeError``); a subclass may still
keep attributes of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mltrace_core.records import Run

STALENESS_THRESHOLD = 60 * 60 * 24 * 30  # seconds: 0.17's default, 30 days

# to_dictionary()'s keys, in 0.17's order
FIELDS = ("name", "owner", "description", "tags", "beforeTests", "afterTests")


class Component:
    def __init__(
        self,
        name: str = "",
        owner: str = "",
        description: str = "",
        beforeTests: Sequence[type] = [],  # noqa: B006 -- 0.17's signature; never mutated
        afterTests: Sequence[type] = [],  # noqa: B006
        tags: Sequence[str] = [],  # noqa: B006
        *,
        latest_run: Run | None = None,
        run_count: int = 0,
    ) -> None:
        self._name = name
        self._owner = owner
        self._description = description
        self._beforeTests = beforeTests
        self._afterTests = afterTests
        self._tags = tags
        self._latest_run = latest_run
        self._run_count = run_count

    # -- properties (0.17's and the record's) ---------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def owner(self) -> str:
        return self._owner

    @property
    def description(self) -> str:
        return self._description

    @property
    def tags(self) -> Sequence[str]:
        return self._tags

    @property
    def beforeTests(self) -> Sequence[type]:
        return self._beforeTests

    @property
    def afterTests(self) -> Sequence[type]:
        return self._afterTests

    @property
    def latest_run(self) -> Run | None:
        return self._latest_run

    @property
    def run_count(self) -> int:
        return self._run_count

    def _key(self) -> tuple[Any, ...]:
        return (
            self._name,
            self._owner,
            self._description,
            tuple(self._tags),
            tuple(self._beforeTests),
            tuple(self._afterTests),
            self._latest_run,
            self._run_count,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Component) and type(other) is type(self) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self), self._name))

    def __repr__(self) -> str:
        """0.17's form: name, owner, description and tags as JSON."""
        return json.dumps(
            {
                "name": self._name,
                "owner": self._owner,
                "description": self._description,
                "tags": list(self._tags),
            }
        )

    # -- dictionaries ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the CLI and the web API."""
        return {
            "name": self._name,
            "description": self._description,
            "owner": self._owner,
            "tags": list(self._tags),
            "run_count": self._run_count,
            "latest_run": self._latest_run.to_dict() if self._latest_run else None,
        }

    def to_dictionary(self) -> dict[str, Any]:
        """0.17's dictionary."""
        return {name: getattr(self, name) for name in FIELDS}

    @classmethod
    def from_dictionary(cls, d: dict[str, Any]) -> Component:
        return cls(**{k: v for k, v in d.items() if k in FIELDS})

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        yield from self.to_dictionary().items()

    # -- the framework --------------------------------------------------------------------------
    def _create_in(self, store: Any) -> None:
        """Create (or update) this component in ``store`` with its owner, description and tags, once."""
        created = self.__dict__.setdefault("_created_in", set())
        if store.uri not in created:
            store.create_component(self._name, self._description, self._owner, tuple(self._tags))
            created.add(store.uri)

    def beforeRun(self, **kwargs: Any) -> None:
        """Run every test of ``beforeTests`` on the function's arguments (by name)."""
        for test in self._beforeTests:
            test().runTests(**kwargs)

    def afterRun(self, **local_vars: Any) -> None:
        """Run every test of ``afterTests`` on the function's local variables when it returned."""
        for test in self._afterTests:
            test().runTests(**local_vars)

    def run(
        self,
        inputs: Any = [],  # noqa: B006 -- 0.17's signature; never mutated
        outputs: Sequence[Any] = [],  # noqa: B006
        input_vars: Sequence[str] = [],  # noqa: B006
        output_vars: Sequence[str] = [],  # noqa: B006
        input_kwargs: dict[str, str] = {},  # noqa: B006
        output_kwargs: dict[str, str] = {},  # noqa: B006
        endpoint: bool = False,
        staleness_threshold: int = STALENESS_THRESHOLD,
        auto_log: bool = False,
        *user_args: Any,
        **user_kwargs: Any,
    ) -> Callable[..., Any]:
        """Decorator: every call of the function is a run of this component, logged as ``register``
        logs it, with this component's ``beforeTests`` run on its arguments first and its ``afterTests``
        on its local variables after. ``@c.run`` and ``@c.run(...)`` both work. ``skip_before=True`` /
        ``skip_after=True`` skip the tests; any other keyword ``test_arg="function_var"`` hands the
        function's variable to the tests under the test's name for it."""
        from mltrace_core.capture import Spec, decorate

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            spec = Spec(
                component=self._name,
                inputs=() if callable(inputs) else tuple(inputs),
                outputs=tuple(outputs),
                input_vars=tuple(input_vars),
                output_vars=tuple(output_vars),
                input_kwargs=dict(input_kwargs),
                output_kwargs=dict(output_kwargs),
                endpoint=endpoint,
                staleness_threshold=staleness_threshold,
                auto_log=auto_log,
                owner=self,
                user_kwargs=dict(user_kwargs),
            )
            return decorate(spec, fn)

        if callable(inputs):  # @c.run without arguments
            return decorator(inputs)
        return decorator
