"""A durable local spool for runs the store could not take, replayed later with nothing lost or doubled.

Each record is one JSON file named after its idempotency key, written to a temporary file, flushed to
disk and renamed into place, so a crash leaves either the whole record or nothing. Replaying logs each
file through the store (which ignores keys it already has) and deletes it after the commit.

A spooled record also names the store it was meant for, by the store's fingerprint (never its URI: that
may hold a password). ``mltrace spool replay`` without ``--dir`` looks through the default spool and its
subdirectories (Airflow keeps one per connection) and replays only the runs meant for the store it was
given, so one spool tree may serve several stores. A replay of one given spool directory (``--dir``, or a
task replaying its own connection's spool) takes every run in it: the connection may have been fixed to
point at its store's new address.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mltrace_core import config
from mltrace_core.errors import InvalidInputError, StoreUnavailableError
from mltrace_core.runs import RunRecord

log = logging.getLogger(__name__)
REPLAY_CHUNK = 200  # runs per transaction of a replay (Store.log_many), small enough for its time budget


class Target(Protocol):
    """What records are logged into: a :class:`~mltrace_core.Store`, or a remote store's sender."""

    @property
    def fingerprint(self) -> str: ...

    def log(self, record: RunRecord, /) -> int: ...


@dataclass(frozen=True)
class ReplayResult:
    replayed: int = 0
    rejected: int = 0  # unreadable or invalid records, moved to ``rejected/``
    remaining: int = 0  # left for later (store unavailable, or out of time)
    why: str = ""  # why the rest was left for later
    other_store: int = 0  # meant for another store: left alone


class Spool:
    """The spool in ``directory`` (default :func:`mltrace_core.config.spool_dir`)."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else config.spool_dir()

    def __repr__(self) -> str:
        return f"Spool({str(self.directory)!r})"

    def put(self, record: RunRecord, store: str | None = None) -> Path:
        """Keep ``record`` durably, for the store with fingerprint ``store`` (``None``: whichever store
        replays it); the same key spooled twice is one file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(record.key.encode()).hexdigest()[:32] + ".json"
        final = self.directory / name
        tmp = self.directory / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({**record.to_json(), "store": store}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        _fsync_dir(self.directory)
        return final

    def pending(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.glob("*.json") if p.is_file())

    def subspools(self) -> list[Spool]:
        """This spool and the spools in its immediate subdirectories (Airflow's per-connection ones)."""
        if not self.directory.is_dir():
            return [self]
        subdirs = sorted(p for p in self.directory.iterdir() if p.is_dir() and p.name != "rejected")
        return [self, *(Spool(p) for p in subdirs)]

    def replay(self, store: Target, budget: float | None = None, match_store: bool = False) -> ReplayResult:
        """Log every spooled record into ``store`` (oldest run first). Stops early, keeping the rest,
        when the store is unavailable or ``budget`` seconds have passed. One replayer at a time.
        ``match_store``: only the records spooled for this very store (or for no known store)."""
        files = self.pending()
        if not files:
            return ReplayResult()
        with self._exclusive() as mine:
            if not mine:
                return ReplayResult(remaining=len(files), why="another process is replaying this spool")
            return self._replay(store, budget, store.fingerprint if match_store else None)

    def _replay(self, store: Target, budget: float | None, target: str | None) -> ReplayResult:
        deadline = None if budget is None else time.monotonic() + budget
        loaded = []
        rejected = other = 0
        for path in self.pending():
            try:
                data = json.loads(path.read_text("utf-8"))
                meant_for = data.pop("store", None) if isinstance(data, dict) else None
                if meant_for is not None and target is not None and meant_for != target:
                    other += 1
                    continue
                loaded.append((RunRecord.from_json(data), path))
            except FileNotFoundError:
                continue  # replayed meanwhile by someone else
            except (ValueError, KeyError, TypeError) as exc:
                rejected += self._reject(path, exc)
        loaded.sort(key=lambda item: (item[0].start, item[0].key))
        replayed, i = 0, 0
        while i < len(loaded):
            if deadline is not None and time.monotonic() > deadline:
                return ReplayResult(replayed, rejected, len(loaded) - i, f"out of time ({budget:g} s)", other)
            chunk = loaded[i : i + REPLAY_CHUNK]
            try:
                done, bad = self._log_chunk(store, chunk)
            except StoreUnavailableError as exc:
                return ReplayResult(replayed, rejected, len(loaded) - i, str(exc), other)
            for path, error in bad:
                rejected += self._reject(path, error)
            for path in done:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            replayed += len(done)
            i += len(chunk)
        return ReplayResult(replayed, rejected, 0, other_store=other)

    @staticmethod
    def _log_chunk(
        store: Target, chunk: list[tuple[RunRecord, Path]]
    ) -> tuple[list[Path], list[tuple[Path, Exception]]]:
        """Log ``chunk`` -- in one call where the store takes batches (:meth:`Store.log_many`), else run
        by run; a batch the store rejects is retried run by run to find the records at fault.
        Returns (paths written, [(path, error)] rejected)."""
        log_many = getattr(store, "log_many", None)
        if log_many is not None and len(chunk) > 1:
            with contextlib.suppress(InvalidInputError):
                log_many([record for record, _ in chunk])
                return [path for _, path in chunk], []
        done: list[Path] = []
        bad: list[tuple[Path, Exception]] = []
        for record, path in chunk:
            try:
                store.log(record)
            except InvalidInputError as exc:
                bad.append((path, exc))
                continue
            done.append(path)
        return done, bad

    def _reject(self, path: Path, exc: Exception) -> int:
        target = self.directory / "rejected"
        target.mkdir(exist_ok=True)
        log.warning("mltrace: spooled run %s cannot be replayed (%s); moved to %s", path.name, exc, target)
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, target / path.name)
        return 1

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[bool]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".replay.lock", "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def deliver(store: Target, record: RunRecord, spool: Spool, replay_budget: float = 2.0) -> int:
    """Log ``record``; if the store is unavailable, spool it and re-raise. After a successful write,
    replay what earlier writes spooled (for at most ``replay_budget`` seconds)."""
    try:
        run_id = store.log(record)
    except StoreUnavailableError:
        spool.put(record, store=store.fingerprint)
        raise
    if spool.pending():
        spool.replay(store, budget=replay_budget)
    return run_id
