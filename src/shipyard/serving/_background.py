"""A model server in a background thread of this process (the demo, tests, notebooks)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import uvicorn

from shipyard.config import Settings
from shipyard.errors import ServiceUnavailable
from shipyard.serving._app import ModelServer, create_app
from shipyard.serving._config import ServingConfig
from shipyard.serving._run import listen, uvicorn_options


class BackgroundServer:
    """Serve ``ref`` on a free loopback port until ``stop()``; a context manager too.

    ``url`` is the base URL; ``start()`` returns once the model is loaded and warm (readiness
    true). ``stop()`` shuts down gracefully: queued requests are answered and the prediction
    log is written before it returns.
    """

    def __init__(
        self,
        ref: str,
        config: ServingConfig | None = None,
        *,
        settings: Settings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.app = create_app(ref, config, settings=settings)
        self.state: ModelServer = self.app.state.server
        self._sock = listen(host, port)
        self.port = int(self._sock.getsockname()[1])
        self.url = f"http://{host}:{self.port}"
        self.state.deployment.address = self.url  # what its deployment record says
        options = {**uvicorn_options(), "log_level": "warning"}
        # The thread runs its own loop and drives start-up and drain itself (around uvicorn).
        options.update(loop="none", lifespan="off")
        self._server = uvicorn.Server(uvicorn.Config(self.app, **options))
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 60.0) -> BackgroundServer:
        """Start serving and wait for readiness (ServiceUnavailable if it never comes).

        Idempotent: ``with BackgroundServer(...).start() as server`` starts one server, not a
        second event loop on the same app state."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._main()),
            daemon=True,
            name="shipyard-model-server",
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=5) as client:
            while time.monotonic() < deadline:
                if self.state.service.error:
                    self.stop()
                    raise ServiceUnavailable(
                        f"the model server failed to load: {self.state.service.error}"
                    )
                if self._server.started:
                    try:
                        if client.get("/v2/health/ready").status_code == 200:
                            return self
                    except httpx.HTTPError:
                        pass
                time.sleep(0.02)
        self.stop()
        raise ServiceUnavailable(f"the model server at {self.url} did not become ready")

    async def _main(self) -> None:
        await self.state.startup()
        try:
            await self._server.serve(sockets=[self._sock])
        finally:
            await self.state.shutdown()

    def stop(self, timeout: float = 60.0) -> None:
        """Drain and stop (idempotent)."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
