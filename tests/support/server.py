"""Pytest plugin: a live Shipyard server in a background thread, for the REST side of the
test matrix.

One uvicorn server per test worker (session-scoped, on a free port); each test points it at
its own fresh LocalStore with ``LiveServer.serve``, so tests share the server but never data.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from shipyard._uvicorn import NoDelayProtocol
from shipyard.client import LocalStore
from shipyard.config import Settings, load_settings
from shipyard.server import create_app
from shipyard.server._serve import bind_socket
from shipyard.server._state import Backend


@dataclass
class LiveServer:
    """A running server; ``serve`` swaps the store (and auth settings) it answers from."""

    url: str
    app: FastAPI

    def serve(
        self, store: LocalStore, *, auth: bool = False, max_upload_bytes: int = 1 << 30
    ) -> Backend:
        old: Backend = self.app.state.backend
        backend = Backend(store, auth=auth, max_upload_bytes=max_upload_bytes)
        self.app.state.backend = backend
        old.close()
        return backend

    def client_settings(self, settings: Settings, **overrides: object) -> Settings:
        """``settings`` as a client of this server sees them (same home, remote store)."""
        return load_settings(
            home=settings.home,
            db_url=settings.db_url,
            tracking_uri=self.url,
            sync_logging=settings.sync_logging,
            **overrides,
        )


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A Shipyard server on a free loopback port for the whole session (per test worker)."""
    home: Path = tmp_path_factory.mktemp("server-home")
    app = create_app(Settings(home=home))
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, http=NoDelayProtocol, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="live-server"
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    yield LiveServer(f"http://127.0.0.1:{port}", app)
    server.should_exit = True
    thread.join(10)
    app.state.backend.close()
    sock.close()


@pytest.fixture
def rest_backend(live_server: LiveServer, settings: Settings) -> Iterator[Backend]:
    """The live server answering from a fresh LocalStore on ``settings`` (no auth)."""
    backend = live_server.serve(LocalStore(settings))
    yield backend
    backend.close()


@dataclass
class ServerProcess:
    """A `shipyard server` subprocess: its URL, the process and its output (stdout and
    stderr)."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path


@contextlib.contextmanager
def server_process(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``shipyard server`` in a subprocess on a free port; yields its URL, stops it after."""
    with running_server(tmp_path, *args, env=env) as server:
        yield server.url


@contextlib.contextmanager
def running_server(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[ServerProcess]:
    """``shipyard server ARGS`` in a subprocess on a free port, once it answers; sent
    SIGTERM after the block unless the block stopped it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    environ.update({"SHIPYARD_HOME": str(tmp_path / ".shipyard"), **(env or {})})
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipyard", "server", "--port", str(port), *args],
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # imports alone can take a minute under load
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                state = "still starting" if proc.poll() is None else f"exit {proc.returncode}"
                raise RuntimeError(
                    f"the server did not start ({state}):\n" + (tmp_path / "server.log").read_text()
                )
            time.sleep(0.1)
        yield ServerProcess(url, proc, tmp_path / "server.log")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
