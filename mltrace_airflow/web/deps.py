"""Request-scoped pieces the routes share: the store, and parameter parsing with the core's rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from mltrace_core import InvalidInputError, Store
from mltrace_core import validation as valid


def get_store(request: Request) -> Store:
    return request.app.state.store()


StoreDep = Annotated[Store, Depends(get_store)]


def limit(value: str | None, default: int, what: str = "limit") -> int:
    """A count from a query parameter, checked by the core's one set of limits."""
    return default if value is None or value == "" else valid.limit(value, what)


def depth(value: str | None) -> int | None:
    """A trace depth from a query parameter (none: the whole lineage)."""
    return None if value is None or value == "" else valid.depth(value)


def time(value: str | None) -> str | None:
    """An ``as_of`` time as typed (parsed by the core: ISO-8601 or ``2d``-style); none if empty."""
    return None if value is None or value.strip() == "" else value


def map_index(value: str | None) -> int | None:
    """None if not given. Airflow leaves its ``{MAP_INDEX}`` placeholder literal for an unmapped task:
    that means -1, as it does in Airflow."""
    if value is None or value == "":
        return None
    return -1 if value.startswith("{") else valid.map_index(value)


def try_number(value: str | None) -> int | None:
    """None if not given (or Airflow's literal placeholder)."""
    if value is None or value == "" or value.startswith("{"):
        return None
    return valid.try_number(value)


def airflow_id(value: str | None, what: str) -> str:
    if value is None:
        raise InvalidInputError(f"{what} is required")
    return valid.name(value, what, 250)
