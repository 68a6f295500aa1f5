"""The command box on the home page: one line of text -> one :class:`Command`, or a helpful message.

Names may contain spaces, so a command's single name argument is the whole rest of the line
(``trace s3://bucket/a b/ü.csv``). ``history`` takes a trailing integer as N. A name wrapped in matching
quotes is taken literally, so ``history "model 2"`` is the history of a component called ``model 2``.
No store access here: parsing only.
"""

from __future__ import annotations

from dataclasses import dataclass

from mltrace_core import validation as valid

USAGE = {
    "recent": "recent [N]",
    "history": "history COMPONENT_NAME [N]",
    "inspect": "inspect COMPONENT_RUN_ID",
    "trace": "trace OUTPUT_ID",
    "tag": "tag TAG_NAME",
    "flag": "flag OUTPUT_ID",
    "unflag": "unflag OUTPUT_ID",
    "review": "review",
}
HELP = "Commands: " + ", ".join(USAGE.values()) + "."
WRITES = frozenset({"flag", "unflag"})
MAX_LINE = 4096


@dataclass(frozen=True)
class Command:
    verb: str
    arg: str | None = None  # the name or run id
    limit: int | None = None

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
    name, _ = _unquote(rest)
    if not name.strip():
        raise CommandError(f"{verb} needs a non-empty name. {usage}")
    return Command(verb, name)


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
