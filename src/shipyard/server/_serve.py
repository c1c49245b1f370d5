"""Running the server: the listening socket, the worker processes, and the start-up checks.

Every connection gets ``TCP_NODELAY``. uvicorn's own multi-worker mode binds its socket
without naming the protocol (``proto=0``), so asyncio does not recognise it as TCP and leaves
Nagle's algorithm on: a response written in two pieces (headers, then body) then waits for
the client's delayed ACK, about 40 ms per keep-alive request. Here the listening socket is
created as TCP with ``TCP_NODELAY`` (accepted sockets inherit it on Linux), and the HTTP
protocol sets it again on each connection, whatever the worker count.

Workers are spawned processes sharing that one socket. BLAS/OpenMP pools are limited to one
thread per worker, so N workers on N cores do not oversubscribe them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import shutil
import socket
import tempfile
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from shipyard.config import Settings, load_settings
from shipyard.errors import ConfigError

THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def set_nodelay(sock: socket.socket | None) -> None:
    """Turn Nagle's algorithm off on a TCP socket (a no-op for other sockets)."""
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, with TCP_NODELAY on every connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport.get_extra_info("socket"))
        super().connection_made(transport)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket with TCP_NODELAY, SO_REUSEADDR (and SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    set_nodelay(sock)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port or stop "
            "what is using it",
            field="port",
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


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
    environment variables, so pass overrides there (the CLI does)."""
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}", field="workers")
    for name in THREAD_ENV:
        os.environ.setdefault(name, "1")
    sock = bind_socket(host, port)
    options: dict[str, Any] = {
        "http": NoDelayH11Protocol,
        "access_log": access_log,
        "log_level": log_level,
        "timeout_keep_alive": 30,
        "server_header": False,
    }
    metrics_dir = None
    try:
        if workers == 1:
            from shipyard.server._app import create_app

            config = uvicorn.Config(create_app(settings), **options)
            uvicorn.Server(config).run(sockets=[sock])
            return
        from uvicorn.supervisors import Multiprocess

        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            metrics_dir = tempfile.mkdtemp(prefix="shipyard-metrics-")
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        config = uvicorn.Config(
            "shipyard.server._serve:app_from_env", factory=True, workers=workers, **options
        )
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
