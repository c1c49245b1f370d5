"""Pytest plugin: a live Shipyard server in a background thread, for the REST side of the
test matrix.

One uvicorn server per test worker (session-scoped, on a free port); each test points it at
its own fresh LocalStore with ``LiveServer.serve``, so tests share the server but never data.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from shipyard.client import LocalStore
from shipyard.config import Settings, load_settings
from shipyard.server import create_app
from shipyard.server._serve import NoDelayH11Protocol, bind_socket
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
        app, http=NoDelayH11Protocol, log_level="warning", access_log=False, lifespan="off"
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
