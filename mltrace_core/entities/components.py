"""The components mltrace 0.17 ships (``mltrace.components``)."""

from __future__ import annotations

from typing import Any

from mltrace_core.entities.component import Component
from mltrace_core.entities.tests import OutliersTest

__all__ = ["PreprocessingComponent"]


class PreprocessingComponent(Component):
    """Preprocessing features for a model; checks its ``df`` for outliers after every run (0.17 ignored
    the ``afterTests`` given and always used ``[OutliersTest]``; so does this)."""

    def __init__(
        self,
        owner: str,
        name: str = "Preprocessing",
        description: str = "Preprocessing features to feed into a model.",
        tags: list[str] = [],  # noqa: B006 -- 0.17's signature; never mutated
        beforeTests: list[Any] = [],  # noqa: B006
        afterTests: list[Any] = [],  # noqa: B006
    ) -> None:
        super().__init__(
            name=name,
            owner=owner,
            description=description,
            tags=tags,
            beforeTests=beforeTests,
            afterTests=[OutliersTest],
        )
