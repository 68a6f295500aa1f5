"""Names a store accepts, for property tests: any text without control characters or lone surrogates
(what validation.name refuses), not blank."""

from hypothesis import strategies as st


def valid_names(max_size: int = 60) -> st.SearchStrategy[str]:
    return st.text(st.characters(blacklist_categories=["Cc", "Cs"]), min_size=1, max_size=max_size).filter(
        str.strip
    )
