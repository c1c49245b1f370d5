"""What the Shipyard server and the model server share about running under uvicorn: the
listening socket (TCP with ``TCP_NODELAY``), the BLAS/OpenMP thread variables, running one
process or several workers on one socket, and SIGTERM as a graceful stop.

``TCP_NODELAY``: uvicorn's own multi-worker mode binds its socket without naming the protocol
(``proto=0``), so asyncio does not recognise it as TCP and leaves Nagle's algorithm on: a
response written in two pieces (headers, then body) then waits for the client's delayed ACK,
about 40 ms per keep-alive request. The listening socket here is created as TCP with
``TCP_NODELAY`` (accepted sockets inherit it on Linux); :class:`NoDelayProtocol`, the HTTP
protocol both servers use, sets it again per connection.

The HTTP protocol and event loop: uvicorn's ``httptools`` parser (C) and ``uvloop`` when they
are installed (the ``serving`` extra brings both), else its pure-Python ``h11`` parser and
asyncio's loop. Per request the h11 path costs about a third of the Shipyard server's CPU.

SIGTERM (``docker stop``, Kubernetes, systemd) stops a server gracefully and the process then
exits 0. uvicorn's single-process server drains on SIGTERM but raises the signal again once it
has shut down, so that the handler in place before it ran decides: with Python's default the
process died of the signal (status -15, 143 in a shell), which orchestrators report as a
failure. :func:`run` puts a handler in place that only asks the server to stop. The
multi-worker supervisor already returns after stopping its workers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from types import FrameType
from typing import Any

from shipyard.errors import ConfigError

#: Environment variables that size the BLAS/OpenMP thread pools of a worker process.
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
_METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def set_nodelay(sock: socket.socket | None) -> None:
    """Turn Nagle's algorithm off on a TCP socket (a no-op for other sockets)."""
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def bind_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket with TCP_NODELAY and SO_REUSEADDR (and SO_REUSEPORT when
    asked), inheritable by worker processes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port and hasattr(socket, "SO_REUSEPORT"):
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


def _fastest_http() -> type[Any]:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        return HttpToolsProtocol
    except ImportError:  # httptools (the `serving` extra) is not installed
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol


class NoDelayProtocol(_fastest_http()):  # type: ignore[misc]
    """uvicorn's fastest available HTTP/1.1 protocol, with TCP_NODELAY per connection (a
    module-level class: worker processes receive it pickled)."""

    def connection_made(self, transport: Any) -> None:
        set_nodelay(transport.get_extra_info("socket"))
        super().connection_made(transport)


def protocol_options() -> dict[str, Any]:
    """uvicorn's ``http`` (and ``loop``, when uvloop is installed) settings of both servers."""
    options: dict[str, Any] = {"http": NoDelayProtocol}
    with contextlib.suppress(ImportError):
        import uvloop  # noqa: F401

        options["loop"] = "uvloop"
    return options


#: How long a worker process may take to start before the supervisor gives up on it.
WORKER_STARTUP_S = 60


def run(
    sock: socket.socket,
    workers: int,
    options: dict[str, Any],
    *,
    app: Any,
    factory: str,
    metrics_prefix: str,
) -> None:
    """Serve on ``sock`` until interrupted: ``app`` in this process when ``workers`` is 1,
    else ``workers`` spawned processes that each build their app with the import path
    ``factory``, their Prometheus metrics shared through a temporary folder. The socket (and
    that folder) are gone when this returns."""
    import uvicorn

    metrics_dir = None
    try:
        if workers == 1:
            server = uvicorn.Server(uvicorn.Config(app(), **options))
            with sigterm_stops(server):
                server.run(sockets=[sock])
            return
        from uvicorn.supervisors import Multiprocess

        if not os.environ.get(_METRICS_DIR_ENV):
            metrics_dir = tempfile.mkdtemp(prefix=metrics_prefix)
            os.environ[_METRICS_DIR_ENV] = metrics_dir
        # a worker that takes longer than the health-check timeout to import and build its
        # app is killed and restarted (forever, on a busy or CPU-limited host): allow a minute
        options = {"timeout_worker_healthcheck": WORKER_STARTUP_S, **options}
        config = uvicorn.Config(factory, factory=True, workers=workers, **options)
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
            os.environ.pop(_METRICS_DIR_ENV, None)


@contextlib.contextmanager
def sigterm_stops(server: Any) -> Iterator[None]:
    """While the block runs, SIGTERM asks ``server`` (a ``uvicorn.Server``) to stop instead
    of ending the process; the previous handler is put back after it.

    uvicorn installs its own handler while it serves and, after a graceful shutdown, raises
    the signal again into the handler that was there before: this one, so the process goes
    on and exits 0. A SIGTERM just before uvicorn's handler is in place stops the server as
    soon as it has started. Outside the main thread (where no handler can be set, and uvicorn
    sets none) nothing changes.
    """

    def stop(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
