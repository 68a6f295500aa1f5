"""Servers the tests, benches and the demo start: free loopback ports, an Airflow API server, waiting for
a URL to answer, stopping a process group, and a TCP server that never answers (a hung store)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A loopback port nobody listens on now (connections to it are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def wait_for_url(url: str, proc: subprocess.Popen | None = None, timeout: float = 180) -> bool:
    """Poll ``url`` until it answers (any HTTP status below 500); ``False`` if ``proc`` exits first or
    ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            urllib.request.urlopen(url, timeout=2)
            return True
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def start_api_server(log_path: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``airflow api-server`` on 127.0.0.1:``port`` (UI, REST API, the execution API task processes talk
    to, /mltrace), in a process group of its own, its output in ``log_path``; returns once it answers."""
    log = open(log_path, "w")  # noqa: SIM115 (the server keeps writing to it)
    server = subprocess.Popen(
        [sys.executable, "-m", "airflow", "api-server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its workers stop with it
    )
    if not wait_for_url(f"http://127.0.0.1:{port}/api/v2/monitor/health", server):
        stop_server(server)
        raise RuntimeError(f"the Airflow API server did not start; see {log_path}")
    return server


def stop_server(server: subprocess.Popen, grace: float = 30) -> None:
    """End a process started with ``start_new_session=True`` and its whole group: SIGTERM, then SIGKILL
    after ``grace`` seconds, then SIGKILL to any child (a task process) that outlived its parent."""
    stop_servers([server], grace)


def stop_servers(servers: list[subprocess.Popen], grace: float = 30) -> None:
    """:func:`stop_server` for several groups at once, signalled in the order given and then waited for
    together: a deployment's services each take seconds to shut down, and one after the other that was
    a minute of every test module's teardown."""

    def signal_all(sig: signal.Signals, procs: list[subprocess.Popen]) -> None:
        for proc in procs:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass

    def wait_all(procs: list[subprocess.Popen], timeout: float) -> list[subprocess.Popen]:
        deadline = time.monotonic() + timeout
        left = []
        for proc in procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                left.append(proc)
        return left

    left = list(servers)
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        signal_all(sig, left)
        left = wait_all(left, wait)
        if not left:
            break
    signal_all(signal.SIGKILL, list(servers))  # children (task processes) that outlived their parent


class HungServer:
    """A loopback TCP server that accepts connections and never says a word (a store that hangs)."""

    def __init__(self, backlog: int = 64) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


class AppServer:
    """An ASGI app (the mltrace web app, mounted as the API server mounts it) served over real HTTP by
    uvicorn on a free loopback port, in a thread of this process: for clients that speak HTTP themselves
    (``mltrace_core.remote``, openlineage-python's client). ``delay``: seconds every answer waits after
    the app has done its work (a server that commits, then answers too late). ``port``: a given one (a
    server that comes back where it was)."""

    def __init__(self, app, delay: float = 0.0, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        self.delay = delay
        config = uvicorn.Config(
            self._delayed(app), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="app-server", daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _delayed(self, app):
        async def delayed(scope, receive, send):
            import asyncio

            async def late(message):
                if message["type"] == "http.response.start" and self.delay:
                    await asyncio.sleep(self.delay)
                await send(message)

            await app(scope, receive, late)

        return delayed

    def __enter__(self) -> AppServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the app server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
