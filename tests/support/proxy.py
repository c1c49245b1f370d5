"""Pytest plugin: ``fault_proxy``, an HTTP proxy in a thread in front of a server, that fails
the requests a test chooses, as a server under trouble or a network would.

Each request's fate comes from the test's ``Faults`` (``fate(method, path)``):

- ``"forward"``: passed to the server and its answer back;
- ``"error"``: answered with ``Faults.error`` without reaching the server (a proxy whose
  upstream is down, an overloaded server refusing work);
- ``"error-after"``: passed to the server, which does the work, but answered with the error
  (the answer was lost or replaced on the way back);
- ``"stall"``: held ``Faults.stall_seconds`` before it is forwarded (longer than the client's
  read timeout: the client gives up first);
- ``"reset"``: passed to the server, then the connection is closed without an answer.

``FaultProxy.stop`` and ``start`` close and reopen its port (connections refused meanwhile).
"""

from __future__ import annotations

import http.client
import http.server
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import pytest

#: Hop-by-hop headers a proxy does not forward.
_HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "proxy-connection"})


@dataclass(frozen=True)
class Answer:
    """An answer the proxy sends instead of the server's."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class Faults(Protocol):
    """What a test tells the proxy: each request's fate, and how to fail."""

    error: Answer
    stall_seconds: float

    def fate(self, method: str, path: str) -> str: ...


@dataclass
class Planned:
    """Faults from a list: the fates of the next requests (``plan``, consumed in order), then
    ``default``; ``seen`` records (method, path, fate) of every request."""

    error: Answer = field(default_factory=lambda: Answer(503))
    plan: list[str] = field(default_factory=list)
    default: str = "forward"
    stall_seconds: float = 3.0
    seen: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fate(self, method: str, path: str) -> str:
        with self.lock:
            fate = self.plan.pop(0) if self.plan else self.default
            self.seen.append((method, path, fate))
            return fate


def _handler(target: tuple[str, int], faults: Faults) -> type[Any]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fate = faults.fate(self.command, self.path)
            if fate == "error":
                self._answer(faults.error.status, faults.error.body, faults.error.headers)
                return
            if fate == "stall":
                time.sleep(faults.stall_seconds)
            status, data, passed, size = self._forward(body)
            if fate == "reset":
                self._reset()
            elif fate == "error-after":
                self._answer(faults.error.status, faults.error.body, faults.error.headers)
            else:
                self._answer(status, data, passed, size)

        def _forward(self, body: bytes) -> tuple[int, bytes, dict[str, str], str | None]:
            """Send the request to the server: its status, body, headers and (for a HEAD)
            the length of the body it describes."""
            upstream = http.client.HTTPConnection(*target, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                passed = {
                    k: v
                    for k, v in answer.getheaders()
                    if k.lower() not in _HOP_HEADERS and k.lower() != "content-length"
                }
                size = answer.getheader("Content-Length") if self.command == "HEAD" else None
                return answer.status, data, passed, size
            finally:
                upstream.close()

        def _reset(self) -> None:
            """Close the connection at once, without an answer (RST, not a clean FIN)."""
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True

        def _answer(
            self, status: int, data: bytes, headers: dict[str, str], size: str | None = None
        ) -> None:
            """Send an answer; ``size`` is a HEAD answer's length of the body it describes."""
            try:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", size or str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up: a timeout
                self.close_connection = True

        do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = _relay  # noqa: N815

    return Handler


class FaultProxy:
    """A proxy to ``target`` (``http://host:port``) on a free loopback port, failing requests
    as ``faults`` says; ``url`` stays the same across ``stop`` and ``start``."""

    def __init__(self, target: str, faults: Faults) -> None:
        parts = urlsplit(target)
        self.faults = faults
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.start()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen (again, on the same port) and answer in a background thread."""
        if self._server is not None:
            return
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", self.port), _handler(self._target, self.faults)
        )
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, name="fault-proxy")
        self._thread.daemon = True
        self._thread.start()
        self._server = server

    def stop(self) -> None:
        """Stop listening: new connections are refused until ``start``."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)
        self._server = None


@pytest.fixture
def fault_proxy() -> Iterator[Callable[[str, Faults], FaultProxy]]:
    """Starts a :class:`FaultProxy`: ``fault_proxy(target_url, faults)``; stopped after the
    test."""
    proxies: list[FaultProxy] = []

    def start(target: str, faults: Faults) -> FaultProxy:
        proxy = FaultProxy(target, faults)
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.stop()
