"""A model server's deployment record: what it serves, where, and that it is alive.

Once the model is loaded the server records itself as a deployment in the store (model,
reference, the version it resolves to, the rollout mode and challenger, the traffic share,
the address), then checks every few seconds: a change of what it serves (an alias swap, a
challenger loaded or moved) is recorded at once, otherwise a heartbeat goes out every
``HEARTBEAT_SECONDS``. On shutdown it is marked stopped. A server of a model folder (a build
context, no registry) records nothing.

``shipyard serve`` passes the address through the environment; with several worker
processes it gives them one deployment id too, and marks that deployment stopped itself once
every worker has exited. Otherwise (one worker, or an app made with ``create_app``) the app
has its own id and marks itself stopped on shutdown.

The record is best effort: a store that cannot be reached is logged and tried again at the
next check, and never stops the server from answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from typing import TYPE_CHECKING

from shipyard.entities import Deployment, RolloutMode
from shipyard.errors import NotFound

if TYPE_CHECKING:
    from shipyard.client import Store
    from shipyard.serving._config import ServingConfig
    from shipyard.serving._service import ModelService

log = logging.getLogger("shipyard.serving")

#: How often a deployment says it is alive when nothing changes.
HEARTBEAT_SECONDS = 15.0
#: The environment ``shipyard serve`` passes its workers: the deployment id and address.
ID_ENV = "SHIPYARD_DEPLOYMENT_ID"
ADDRESS_ENV = "SHIPYARD_SERVE_ADDRESS"


def _store() -> Store:
    from shipyard.tracking import get_client

    return get_client().store


def new_deployment_id() -> str:
    """A fresh deployment id."""
    return uuid.uuid4().hex


class DeploymentRecorder:
    """Keeps the deployment record of one model server (see the module docstring)."""

    def __init__(
        self,
        service: ModelService,
        config: ServingConfig,
        *,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.service = service
        self.config = config
        self.heartbeat_seconds = heartbeat_seconds
        given = os.environ.get(ID_ENV)
        #: The deployment's id (shared by the workers of one `shipyard serve`).
        self.id = given or new_deployment_id()
        #: True when this app marks the deployment stopped (not when `serve` does).
        self.owns_stop = not given
        self.address = os.environ.get(ADDRESS_ENV, "")
        self.recorded: Deployment | None = None
        #: Why the last update failed (None: it did not).
        self.problem: str | None = None
        self._since_beat = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def logged_id(self) -> str:
        """The id the prediction log names (empty until the deployment is recorded)."""
        return self.id if self.recorded is not None else ""

    @property
    def enabled(self) -> bool:
        """False for a model folder: there is no registered version to record."""
        return self.service.primary.folder is None

    def current(self) -> Deployment | None:
        """What the server serves now (None until the primary version is loaded)."""
        primary = self.service.primary.current
        if primary is None:
            return None
        challenger = self.service.challenger
        loaded = challenger.current if challenger is not None else None
        mode = RolloutMode.SINGLE
        share = 0.0
        if challenger is not None:
            mode = RolloutMode(self.config.mode)
            share = self.config.canary_share if mode is RolloutMode.CANARY else 0.0
        return Deployment(
            id=self.id,
            model=self.service.name,
            reference=self.service.primary.reference,
            version=primary.version,
            mode=mode,
            challenger=challenger.alias if challenger is not None else "",
            challenger_version=loaded.version if loaded is not None else 0,
            traffic_share=share,
            address=self.address,
        )

    def sync(self, elapsed: float = 0.0) -> None:
        """Record a change of what is served, or a heartbeat when one is due (``elapsed``:
        seconds since the last call). Failures are logged and retried at the next call."""
        now = self.current()
        if now is None:
            return
        self._since_beat += elapsed
        store = _store()
        try:
            if self.recorded is None or self.recorded.serving() != now.serving():
                self.recorded = store.put_deployment(now)
                self._since_beat = 0.0
            elif self._since_beat >= self.heartbeat_seconds:
                store.heartbeat_deployment(self.id)
                self._since_beat = 0.0
        except Exception as exc:
            if str(exc) != self.problem:  # once per distinct problem, not every few seconds
                log.warning("could not record deployment %s: %s", self.id, exc)
            self.problem = str(exc)
        else:
            self.problem = None

    def start(self) -> None:
        """Record the deployment now and keep it up to date in the background."""
        if not self.enabled or self._task is not None:
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        poll = self.config.poll_seconds
        period = min(poll, self.heartbeat_seconds) if poll > 0 else self.heartbeat_seconds
        elapsed = 0.0
        while True:
            await asyncio.to_thread(self.sync, elapsed)
            await asyncio.sleep(period)
            elapsed = period

    async def stop(self) -> None:
        """Stop updating; mark the deployment stopped when this app owns its stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.owns_stop and self.recorded is not None:
            await asyncio.to_thread(mark_stopped, self.id)


def mark_stopped(deployment_id: str) -> None:
    """Mark a deployment stopped (nothing when it was never recorded; a store that cannot be
    reached is logged)."""
    try:
        _store().stop_deployment(deployment_id)
    except NotFound:
        pass
    except Exception as exc:
        log.warning("could not mark deployment %s stopped: %s", deployment_id, exc)
