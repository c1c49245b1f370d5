"""Request metrics for Prometheus and the audit log of writes, in one ASGI middleware.

Metrics are labelled by route *template* (``/api/v1/runs/{run_id}``), never the raw path, so
their number stays bounded. With several worker processes, ``shipyard server`` points
``PROMETHEUS_MULTIPROC_DIR`` at a folder the workers share, and ``/metrics`` adds up all of
them.
"""

from __future__ import annotations

import os
import time
from typing import Any

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipyard.client import now_ms
from shipyard.server._http import JSON_BODY_LIMIT

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "shipyard_http_requests",
    "HTTP requests handled, by method, route template and status code.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "shipyard_http_request_duration_seconds",
    "Time to handle a request, by method and route template.",
    ["method", "route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
if not os.environ.get(MULTIPROC_ENV):
    ProcessCollector(registry=REGISTRY)  # memory and CPU of this (only) process

_READS = frozenset({"GET", "HEAD", "OPTIONS"})
#: POST routes that only read (a query too large or structured for a URL): not audited.
READ_ONLY_POSTS = frozenset({"/api/v1/runs/search", "/api/v1/features/online"})


def metrics_payload(*extra: CollectorRegistry) -> tuple[bytes, str]:
    """The Prometheus exposition of this server (every worker's, when there are several),
    followed by that of ``extra`` registries (metrics read at scrape time, not counted per
    process: the feature materialization times)."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    payload = b"".join(generate_latest(r) for r in (registry, *extra))
    return payload, CONTENT_TYPE_LATEST


def route_template(scope: Scope) -> str:
    """The path template of the route that handled a request (``<unmatched>`` for none)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "<unmatched>"


class ObserveMiddleware:
    """Count and time every request; queue an audit entry for every API write."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        held: Message | None = None
        chunks: list[bytes] = []

        async def send_and_note(message: Message) -> None:
            nonlocal status, held
            if message["type"] == "http.response.start":
                status = message["status"]
                if status >= 400 and _is_plain_text(message):
                    held = message  # an error from below the app's handlers: make it JSON
                    return
            elif held is not None:
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    await _send_json_error(send, held, status, b"".join(chunks))
                return
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            method = scope["method"]
            route = route_template(scope)
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(time.perf_counter() - started)
            if _is_write(method, route, scope) and scope["path"].startswith("/api/"):
                _audit(scope, method, route, status)


#: The error code of a plain HTTP error status (the others come from ``shipyard.errors``).
HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
_MESSAGES = {
    413: "the request body is larger than this server accepts for JSON "
    f"({JSON_BODY_LIMIT // 2**20} MiB); send smaller batches",
}


def _is_plain_text(message: Message) -> bool:
    headers = dict(message.get("headers", ()))
    return bool(headers.get(b"content-type", b"").startswith(b"text/plain"))


async def _send_json_error(send: Send, start: Message, status: int, text: bytes) -> None:
    """Send a plain-text error (one Starlette or FastAPI made itself) as the JSON error body
    every other error has."""
    message = _MESSAGES.get(status) or text.decode(errors="replace") or "error"
    body = orjson.dumps({"code": HTTP_CODES.get(status, "http_error"), "message": message})
    headers = [
        (k, v) for k, v in start.get("headers", ()) if k not in (b"content-type", b"content-length")
    ]
    headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _is_write(method: str, route: str, scope: Scope) -> bool:
    """Whether a request may change something, and so belongs in the audit log (a route
    with ``read_only`` set, such as MLflow's searches, says it only reads)."""
    if method in _READS or getattr(scope.get("route"), "read_only", False):
        return False
    return not (method == "POST" and route in READ_ONLY_POSTS)


def _audit(scope: Scope, method: str, route: str, status: int) -> None:
    backend = getattr(scope["app"].state, "backend", None)
    if backend is None:
        return
    state: dict[str, Any] = scope.get("state") or {}
    client = scope.get("client")
    project = state.get("project")
    entry = {
        "at": now_ms(),
        "user": state.get("user") or ("anonymous" if not backend.auth else "-"),
        "method": _clean(method, 16),
        "route": _clean(route, 256),
        "path": _clean(scope["path"], 1024),
        "status": status,
        "project": None if project is None else _clean(project, 64),
        "client": _clean(f"{client[0]}:{client[1]}", 256) if client else "",
    }
    backend.audit.add(entry)


def _clean(text: str, limit: int) -> str:
    """Text as the audit log can store it: no NUL characters, at most ``limit`` long."""
    return text.replace("\x00", "\\x00")[:limit]
