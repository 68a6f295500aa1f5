"""A PostgreSQL server of the test's own, to stop, kill and pause at will (never the shared one on 5432,
which the rest of the suite uses).

``initdb`` into a fresh temporary directory (as the ``postgres`` OS user when the tests run as root:
PostgreSQL refuses to run as root), password authentication on TCP, a free port of 127.0.0.1, the
Unix socket in the data directory (trust, for the test's own administration). :func:`dedicated_postgres`
stops the server and removes the directory whatever happens.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.support.processes import free_port

SUPERUSER = "postgres"


def _bindir() -> Path | None:
    """The directory of ``initdb``/``pg_ctl``: Debian keeps them out of PATH, per major version."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresInstance:
    """One server: ``start()``, ``stop()`` (an immediate shutdown: a crash, as far as clients see),
    ``pause()``/``resume()`` (SIGSTOP/SIGCONT to every server process: a hung store), ``uri()``."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.superuser_password = secrets.token_urlsafe(12)
        self.paused: list[int] = []
        self._as_postgres = os.geteuid() == 0

    # -- running commands as the server's owner -------------------------------------------------------
    def _cmd(self, *args: str, timeout: float = 60) -> str:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", SUPERUSER, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"{args[0]} failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
        return done.stdout

    def init(self) -> None:
        if self._as_postgres:
            shutil.chown(self.root, SUPERUSER, SUPERUSER)
        pwfile = self.root / "pw"
        pwfile.write_text(self.superuser_password + "\n")
        if self._as_postgres:
            shutil.chown(pwfile, SUPERUSER, SUPERUSER)
        self._cmd(
            "initdb", "-D", str(self.data), "-U", SUPERUSER, "--pwfile", str(pwfile),
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-instructions",
        )  # fmt: skip
        pwfile.unlink()
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.root}'\nmax_connections = 60\n"
                # fsync off: a stopped or killed server keeps what it committed (the OS has it), only
                # a machine crash could lose it. synchronous_commit stays on: with it off, a commit the
                # client was told about can vanish in an immediate shutdown, and no client can tell.
                "fsync = off\n"
                "log_min_messages = warning\nlog_connections = off\n"
            )

    def start(self) -> None:
        self._cmd(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60", "start"
        )

    def stop(self, mode: str = "immediate") -> None:
        """Shut the server down; ``immediate`` drops every connection at once, as a crash would."""
        self.resume()
        self._cmd("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        pid = self.postmaster_pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError):
            return None

    def server_pids(self) -> list[int]:
        """The postmaster and its children (backends, checkpointer, ...)."""
        root = self.postmaster_pid()
        if root is None:
            return []
        pids = [root]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == root:
                pids.append(int(stat.parent.name))
        return pids

    def pause(self) -> None:
        """Freeze the server: connections stay open and accept bytes, nothing answers."""
        pids = self.server_pids()
        for pid in pids:  # the postmaster first: it forks no new backend meanwhile
            os.kill(pid, signal.SIGSTOP)
            self.paused.append(pid)

    def resume(self) -> None:
        for pid in reversed(self.paused):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.paused = []

    # -- clients --------------------------------------------------------------------------------------
    def uri(self, user: str = SUPERUSER, password: str | None = None, database: str = "postgres") -> str:
        """A TCP URI (password authentication); ``password`` defaults to the superuser's."""
        if password is None:
            password = self.superuser_password
        return (
            f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@127.0.0.1:{self.port}/{database}"
        )

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser over the Unix socket (trust: no password needed)."""
        return self._cmd(
            "psql", "-h", str(self.root), "-p", str(self.port), "-U", SUPERUSER, "-d", database,
            "-v", "ON_ERROR_STOP=1", "-Atq", "-c", sql,
        )  # fmt: skip

    def create_database(self, name: str, owner: str | None = None, password: str | None = None) -> str:
        """A database (and, with ``owner``, a login role with ``password`` owning it); its TCP URI."""
        if owner:
            self.psql(f"CREATE ROLE \"{owner}\" LOGIN PASSWORD '{password}'")
            self.psql(f'CREATE DATABASE "{name}" OWNER "{owner}"')
            return self.uri(owner, password, name)
        self.psql(f'CREATE DATABASE "{name}"')
        return self.uri(database=name)

    def wait_accepting(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL on port {self.port} does not accept connections")

    def log_text(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def dedicated_postgres() -> Iterator[PostgresInstance]:
    """A running server of its own, stopped and deleted afterwards even if the test fails. Skipped
    (failed in CI, ``MLTRACE_REQUIRE_POSTGRES=1``) when the PostgreSQL server binaries are missing."""
    bindir = _bindir()
    if bindir is None or (os.geteuid() == 0 and not shutil.which("runuser")):
        reason = "PostgreSQL server binaries (initdb, pg_ctl) not found"
        if os.environ.get("MLTRACE_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " (MLTRACE_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="mltrace-pg-"))
    instance = PostgresInstance(bindir, root)
    try:
        instance.init()
        instance.start()
        yield instance
    finally:
        try:
            instance.resume()
            if instance.running():
                instance.stop()
        finally:
            pid = instance.postmaster_pid()
            if pid is not None and instance.running():  # pg_ctl could not stop it: end it by its id
                os.kill(pid, signal.SIGKILL)
            shutil.rmtree(root, ignore_errors=True)
