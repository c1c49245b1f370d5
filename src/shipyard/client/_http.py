"""The HTTP side of the REST client: one keep-alive connection pool, retries, and errors
turned back into the ``shipyard.errors`` exceptions the server reported.

Retries: a request that could not be sent at all (connection refused or timed out) is retried
with back-off whatever it was; one whose connection broke after it was sent is retried only
when it is idempotent (a read, a PUT of the same content...), since a metric batch sent twice
would be stored twice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from shipyard.config import Settings
from shipyard.errors import (
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
    ShipyardError,
    TooLarge,
    Unauthenticated,
    error_from_code,
)

API_PREFIX = "/api/v1"
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
_BY_STATUS: dict[int, type[ShipyardError]] = {
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    413: TooLarge,
}
_SENT_BUT_BROKEN = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class Http:
    """Calls to one Shipyard server (safe to share between threads; re-made after a fork)."""

    def __init__(self, settings: Settings, token: str) -> None:
        self.base = settings.tracking_uri.rstrip("/") + API_PREFIX
        self.retries = settings.http_retries
        self._timeout = httpx.Timeout(
            settings.http_timeout, connect=min(10.0, settings.http_timeout)
        )
        self._headers = {"User-Agent": f"shipyard/{_version()}"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._client: httpx.Client | None = None
        self._pid = 0

    @property
    def client(self) -> httpx.Client:
        """The connection pool of this process."""
        if self._client is None or self._pid != os.getpid():
            self._client = httpx.Client(
                base_url=self.base,
                headers=self._headers,
                timeout=self._timeout,
                limits=httpx.Limits(max_keepalive_connections=8, keepalive_expiry=20.0),
            )
            self._pid = os.getpid()
        return self._client

    def close(self) -> None:
        if self._client is not None and self._pid == os.getpid():
            self._client.close()
        self._client = None

    def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        content: Callable[[], Iterator[bytes]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Make a call and return its JSON answer (None for an empty one); errors raise."""
        extra = dict(headers or {})
        body: Any = None
        if json is not None:
            body = orjson.dumps(json)
            extra["Content-Type"] = "application/json"
        response = self._attempts(
            lambda: self.client.request(
                method,
                path,
                content=body if content is None else content(),
                params=_clean(params),
                headers=extra,
            ),
            idempotent,
        )
        raise_for(response)
        if not response.content:
            return None
        return orjson.loads(response.content)

    def stream(self, path: str) -> httpx.Response:
        """A GET whose body is read by the caller in chunks (close the response after)."""
        response = self._attempts(
            lambda: self.client.send(self.client.build_request("GET", path), stream=True), True
        )
        if response.status_code >= 400:
            response.read()
            response.close()
            raise_for(response)
        return response

    def _attempts(self, call: Callable[[], httpx.Response], idempotent: bool) -> httpx.Response:
        delay = 0.1
        for attempt in range(self.retries + 1):
            try:
                return call()
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure: Exception = exc
            except _SENT_BUT_BROKEN as exc:
                if not idempotent:
                    raise ServiceUnavailable(
                        f"the connection to the Shipyard server at {self.base} broke during a "
                        f"request that cannot be repeated safely ({exc}); check whether it "
                        "took effect before retrying"
                    ) from None
                failure = exc
            except httpx.TimeoutException as exc:
                raise ServiceUnavailable(
                    f"the Shipyard server at {self.base} did not answer in time ({exc}); "
                    "raise SHIPYARD_HTTP_TIMEOUT or check the server"
                ) from None
            if attempt < self.retries:
                time.sleep(delay)
                delay *= 2
        raise ServiceUnavailable(
            f"cannot reach the Shipyard server at {self.base}: {failure}; check "
            "SHIPYARD_TRACKING_URI and that the server is running"
        )


def raise_for(response: httpx.Response) -> None:
    """Raise the Shipyard error an error response stands for."""
    status = response.status_code
    if status < 400:
        return
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        code, message, field = body["code"], str(body.get("message", "")), body.get("field")
        details = body.get("details")
        try:
            error = error_from_code(code, message, field, **(details or {}))
        except TypeError:  # details that do not fit the exception's signature
            error = error_from_code(code, message, field)
        raise error
    cls = _BY_STATUS.get(status, ServiceUnavailable if status >= 500 else ShipyardError)
    text = response.text[:200].strip()
    raise cls(f"the server answered {status} {response.reason_phrase}: {text or '(no body)'}")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("shipyard")
    except PackageNotFoundError:
        return "dev"


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Query parameters without the unset ones (httpx would send them empty)."""
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}


def path_segment(part: str) -> str:
    """One URL path segment: ids, names and keys are user input, so everything is quoted."""
    return quote(part, safe="")


def json_content(data: Any) -> dict[str, Any]:
    """``Http.send`` arguments for a JSON body that may hold values JSON has no type for
    (numpy numbers, dates...): they travel as text, as LocalStore stores them."""
    body = orjson.dumps(data, default=str, option=_JSON_OPTIONS)
    content: Callable[[], Iterator[bytes]] = lambda: iter((body,))  # noqa: E731
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    return {"content": content, "headers": headers}
