"""The git commit and tags of the code that runs, as mltrace 0.17 recorded them (``get_git_hash``,
``get_git_tags``): the repository around the current directory, read with the ``git`` command (no
library needed). No repository, or no ``git``: ``None``."""

from __future__ import annotations

import functools
import logging
import os
import subprocess

log = logging.getLogger("mltrace_core")


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_hash() -> str | None:
    """The commit checked out in the repository around the current directory."""
    found = _git("rev-parse", "HEAD")
    if not found:
        log.info("No git repo found.")
    return found or None


def git_tags() -> list[str] | None:
    """The tags on that commit; ``None`` when there are none (as 0.17)."""
    found = _git("tag", "--points-at", "HEAD")
    tags = sorted(found.split()) if found else []
    return tags or None


@functools.lru_cache(maxsize=64)
def _cached(cwd: str) -> tuple[str | None, list[str] | None]:
    return git_hash(), git_tags()


def cached() -> tuple[str | None, list[str] | None]:
    """(hash, tags) for decorated runs: looked up once per process and directory. The code a process
    runs is the code it loaded, whatever is committed while it runs."""
    found_hash, tags = _cached(os.getcwd())
    return found_hash, None if tags is None else list(tags)
