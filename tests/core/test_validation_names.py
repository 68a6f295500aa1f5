"""validation.name takes printable ASCII by a shortcut (every pointer, component and key of every logged
run passes there); it must accept and refuse exactly what the rule says: not blank, at most the byte
limit of UTF-8, no control character (Unicode's Cc), valid unicode."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mltrace_core import validation
from mltrace_core.errors import InvalidInputError

LIMIT = 16


def acceptable(value: str) -> bool:
    """The rule, written independently of validation.name."""
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return False
    control = any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value)
    return bool(value.strip()) and size <= LIMIT and not control


# ASCII (control characters, DEL and blanks included), then some of everything else
ascii_text = st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=2 * LIMIT)
any_text = st.text(max_size=2 * LIMIT)


@given(st.one_of(ascii_text, any_text))
def test_name_accepts_exactly_the_rule(value: str) -> None:
    if acceptable(value):
        assert validation.name(value, "name", LIMIT) == value
    else:
        with pytest.raises(InvalidInputError):
            validation.name(value, "name", LIMIT)


@pytest.mark.parametrize("value", ["a\x7fb", "a\tb", " ", "x" * (LIMIT + 1), "\x00", "é" * 9, "\ud800"])
def test_name_refuses(value: str) -> None:
    with pytest.raises(InvalidInputError):
        validation.name(value, "name", LIMIT)
