"""Connecting to Ray, shared by the pipeline executor and batch scoring (``shipyard[ray]``).

Without an address a local Ray instance is started (or the one already running in this
process is used); with one (``ray://head:10001`` or ``head:6379``, or ``RAY_ADDRESS``) the
cluster must answer within a few seconds, else a clear error says so instead of Ray's long
retry loop.
"""

from __future__ import annotations

import importlib
import os
import socket
from typing import Any

from shipyard.errors import ConfigError, ServiceUnavailable


def import_ray(what: str) -> Any:
    """The ``ray`` module, or a ConfigError saying how to install it (``what`` needs it)."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise ConfigError(
            f"{what} needs Ray: pip install 'shipyard[ray]'", field="executor"
        ) from None


def check_reachable(address: str, timeout: float) -> None:
    """Fail fast when nothing listens at a Ray address (host:port or ray://host:port)."""
    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(
            f"Ray address {address!r} is not host:port or ray://host:port", field="address"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ServiceUnavailable(
            f"no Ray cluster answers at {address} ({exc}); start one with `ray start --head`, "
            "fix the address, or leave it out to run a local Ray",
            field="address",
        ) from None


def connect(
    what: str,
    address: str | None = None,
    *,
    connect_timeout: float = 5.0,
    init_kwargs: dict[str, Any] | None = None,
) -> Any:
    """The ``ray`` module, connected: to ``address`` (or ``RAY_ADDRESS``) when given, else to
    the Ray already initialised in this process, else to a new local Ray. An address is
    checked even when Ray is already up, so a wrong one is never silently ignored."""
    ray = import_ray(what)
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        check_reachable(address, connect_timeout)
    if not ray.is_initialized():
        options = {"include_dashboard": False, "ignore_reinit_error": True}
        options.update(init_kwargs or {})
        try:
            ray.init(address=address, **options)
        except ConnectionError as exc:
            raise ServiceUnavailable(
                f"could not connect to Ray at {address}: {exc}", field="address"
            ) from None
    return ray
