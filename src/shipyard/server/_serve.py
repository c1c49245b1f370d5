"""Running the server: the listening socket, the worker processes, and the start-up checks.

Every connection gets ``TCP_NODELAY`` (see :mod:`shipyard._uvicorn`): the listening socket
is created with it, and the HTTP protocol sets it again on each connection, whatever the
worker count. The protocol is httptools (with uvloop) when installed, else h11.

Workers are spawned processes sharing that one socket. BLAS/OpenMP pools are limited to one
thread per worker, so N workers on N cores do not oversubscribe them.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

from shipyard import _uvicorn
from shipyard._uvicorn import THREAD_ENV
from shipyard.config import Settings, load_settings
from shipyard.errors import ConfigError


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket with TCP_NODELAY, SO_REUSEADDR (and SO_REUSEPORT)."""
    return _uvicorn.bind_socket(host, port, reuse_port=True)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_auth(settings: Settings, host: str, insecure_no_auth: bool) -> None:
    """Refuse to serve without authentication on an address other machines can reach, and
    with authentication but nobody able to log in."""
    if not settings.server_auth:
        if is_loopback(host) or insecure_no_auth:
            return
        raise ConfigError(
            f"refusing to listen on {host} without authentication: anyone who can reach it "
            "could read and change everything. Turn it on with --auth (create a user and a "
            "token first: `shipyard users create NAME --role admin --project '*'`, "
            "`shipyard tokens create --user NAME`), bind to 127.0.0.1, or pass "
            "--insecure-no-auth if a proxy in front authenticates",
            field="host",
        )
    from shipyard.client import LocalStore, now_ms

    store = LocalStore(settings)
    now = now_ms()
    usable = [
        t
        for t in store.list_tokens()
        if t.revoked_at is None and (t.expires_at is None or t.expires_at > now)
    ]
    if not usable:
        raise ConfigError(
            "authentication is on but no usable API token exists, so nobody could call the "
            "server; create a user and a token first: `shipyard users create NAME --role admin "
            "--project '*'` then `shipyard tokens create --user NAME`",
            field="server_auth",
        )


def app_from_env() -> Any:
    """The application of a worker process, configured from the environment."""
    from shipyard.server._app import create_app

    return create_app(load_settings())


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    *,
    access_log: bool = False,
    log_level: str = "info",
) -> None:
    """Serve until interrupted. Settings reach worker processes through ``SHIPYARD_*``
    environment variables, so pass overrides there (the CLI does).

    Args:
        settings: The settings of the store the server serves.
        host: The address to listen on.
        port: The port to listen on.
        workers: The number of worker processes (at least 1).
        access_log: Log every request.
        log_level: uvicorn's log level (``info``, ``warning``, ...).
    """
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}", field="workers")
    for name in THREAD_ENV:
        os.environ.setdefault(name, "1")
    sock = bind_socket(host, port)
    options: dict[str, Any] = {
        **_uvicorn.protocol_options(),
        "access_log": access_log,
        "log_level": log_level,
        "timeout_keep_alive": 30,
        "server_header": False,
    }

    def app() -> Any:  # imported only where it runs: the supervisor of workers never needs it
        from shipyard.server._app import create_app

        return create_app(settings)

    _uvicorn.run(
        sock,
        workers,
        options,
        app=app,
        factory="shipyard.server._serve:app_from_env",
        metrics_prefix="shipyard-metrics-",
    )
