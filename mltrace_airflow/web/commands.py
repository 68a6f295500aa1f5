"""The command box on the home page: one line of text -> one :class:`Command`, or a helpful message.

Names may contain spaces, so a command's single name argument is the whole rest of the line
(``trace s3://bucket/a b/ü.csv``). ``history`` takes a trailing integer as N; ``trace`` a trailing
``--as-of TIME``. A name wrapped in matching quotes is taken literally, so ``history "model 2"`` is the
history of a component called ``model 2``. ``diff`` takes two addresses: the first ends at the first space
(quote it if it has one), the second is the rest of the line. No store access here: parsing only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mltrace_core import validation as valid

USAGE = {
    "recent": "recent [N]",
    "history": "history COMPONENT_NAME [N]",
    "inspect": "inspect COMPONENT_RUN_ID",
    "trace": "trace OUTPUT_ID [--as-of TIME]",
    "versions": "versions OUTPUT_ID",
    "diff": "diff OUTPUT_A OUTPUT_B",
    "tag": "tag TAG_NAME",
    "flag": "flag OUTPUT_ID",
    "unflag": "unflag OUTPUT_ID",
    "review": "review",
}
HELP = "Commands: " + ", ".join(USAGE.values()) + "."
WRITES = frozenset({"flag", "unflag"})
MAX_LINE = 4096
_AS_OF = re.compile(r"(.*\S)\s+--as-of(?:\s+|=)(\S+)", re.DOTALL)


@dataclass(frozen=True)
class Command:
    verb: str
    arg: str | None = None  # the name or run id (diff: the first address)
    limit: int | None = None
    other: str | None = None  # diff: the second address
    as_of: str | None = None  # trace: the time, as typed (the core parses it)

    @property
    def is_write(self) -> bool:
        return self.verb in WRITES


class CommandError(ValueError):
    """A line that is not a command; the message says what would be."""


def _unquote(text: str) -> tuple[str, bool]:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1], True
    return text, False


def _count(word: str) -> int | None:
    number = valid.whole_number(word)
    return number if number is not None and not word.strip().startswith("-") else None


def parse(line: str) -> Command:
    """Parse one command line; raise :class:`CommandError` with a helpful message if it is not one."""
    line = (line or "").strip()
    if not line:
        raise CommandError("Type a command. " + HELP)
    if len(line) > MAX_LINE:
        raise CommandError(f"That command is {len(line)} characters long; the limit is {MAX_LINE}.")
    verb, _, rest = line.partition(" ")
    verb, rest = verb.lower(), rest.strip()
    if verb in ("help", "?"):
        raise CommandError(HELP)
    if verb not in USAGE:
        raise CommandError(f"Unknown command {verb[:40]!r}. " + HELP)
    usage = f"Usage: {USAGE[verb]}"
    if verb in ("recent", "review"):
        if verb == "review" and rest:
            raise CommandError(f"review takes no argument. {usage}")
        if verb == "recent" and rest:
            n = _count(rest)
            if n is None or n < 1:
                raise CommandError(f"recent takes a number of runs, not {rest[:40]!r}. {usage}")
            return Command(verb, limit=n)
        return Command(verb)
    if not rest:
        raise CommandError(f"{verb} needs an argument. {usage}")
    if verb == "inspect":
        run_id = rest.lstrip("#")
        if _count(run_id) is None or int(run_id) < 1:
            raise CommandError(
                f"inspect needs a run id (a positive whole number), not {rest[:40]!r}. {usage}"
            )
        return Command(verb, run_id)
    if verb == "history":
        return _history(rest, usage)
    if verb == "diff":
        return _diff(rest, usage)
    as_of = None
    if verb == "trace":
        timed = _AS_OF.fullmatch(rest)
        if timed and not _unquote(rest)[1]:
            rest, as_of = timed.group(1).strip(), timed.group(2)
    name, _ = _unquote(rest)
    if not name.strip():
        raise CommandError(f"{verb} needs a non-empty name. {usage}")
    return Command(verb, name, as_of=as_of)


def _history(rest: str, usage: str) -> Command:
    name, quoted = _unquote(rest)
    limit = 10
    if not quoted:
        head, _, last = rest.rpartition(" ")
        n = _count(last)
        if head.strip() and n is not None:
            name, limit = head.strip(), n
            name, _ = _unquote(name)
    if not name.strip():
        raise CommandError(f"history needs a component name. {usage}")
    if limit < 1:
        raise CommandError(f"history needs N of at least 1. {usage}")
    return Command("history", name, limit)


def _diff(rest: str, usage: str) -> Command:
    quote = rest[0] if rest[0] in "\"'" else None
    if quote:
        end = rest.find(quote, 1)
        while end != -1 and end + 1 < len(rest) and not rest[end + 1].isspace():
            end = rest.find(quote, end + 1)
        if end == -1:
            raise CommandError(f"diff: the first address has no closing {quote}. {usage}")
        first, second = rest[1:end], rest[end + 1 :]
    else:
        first, _, second = rest.partition(" ")
    second, _ = _unquote(second.strip())
    if not first.strip() or not second.strip():
        raise CommandError(f"diff needs two outputs (any version: NAME, NAME@VERSION or run:ID). {usage}")
    return Command("diff", first, other=second)
