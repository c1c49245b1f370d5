"""The HTTP side of the REST client: one keep-alive connection pool, retries, and errors
turned back into the ``shipyard.errors`` exceptions the server reported.

Retries (the policy and its budget are in ``_retry.py``): a request that could not be sent
at all (connection refused, or no connection within the connect timeout) is repeated whatever
it was, since nothing reached the server. One that may have reached it is repeated only when
it is idempotent (a read, a content-addressed blob PUT, a PUT of the same state...): after a
connection that broke once the request was sent, and after an answer that says "not now"
(503 from the server while its database is unreachable, 502/504 from a proxy, 429). A metric
batch or a new run sent twice would be stored twice, so those calls (``idempotent=False``)
give up at the first such failure with the server's error. When the budget is spent the
error names the server and its last answer.

Requests go straight to httpx's transport (its connection pool over httpcore), not through
``httpx.Client``: a training script with ``sync_logging`` makes one request per metric, and
the client's layers (URL merging, cookies, auth and redirect hooks) were most of the client's
CPU per call. What the client did for us is done here: default headers, timeouts, and the
``HTTP(S)_PROXY``/``ALL_PROXY``/``NO_PROXY`` variables; the server sets no cookies and
answers no redirects.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit
from urllib.request import getproxies_environment, proxy_bypass

import httpx
import orjson

from shipyard.client._retry import RETRY_STATUSES, RetryBudget, retry_after
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
        self.retry_seconds = settings.http_retry_seconds
        self._timeout = httpx.Timeout(
            settings.http_timeout, connect=min(10.0, settings.http_timeout)
        ).as_dict()
        self._headers = {"User-Agent": f"shipyard/{_version()}", "Accept": "*/*"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        #: Called with every request just before it is sent (tests count or refuse them).
        self.on_request: list[Callable[[httpx.Request], None]] = []
        self._urls: dict[str, httpx.URL] = {}
        self._transport: httpx.HTTPTransport | None = None
        self._pid = 0

    @property
    def transport(self) -> httpx.HTTPTransport:
        """The connection pool of this process (through the proxy the environment names
        for the server, if any)."""
        if self._transport is None or self._pid != os.getpid():
            self._transport = httpx.HTTPTransport(
                limits=httpx.Limits(max_keepalive_connections=8, keepalive_expiry=20.0),
                proxy=_environment_proxy(self.base),
            )
            self._pid = os.getpid()
        return self._transport

    def close(self) -> None:
        if self._transport is not None and self._pid == os.getpid():
            self._transport.close()
        self._transport = None

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
        extra = {**self._headers, **(headers or {})}
        body: Any = None
        if json is not None:
            body = orjson.dumps(json)
            extra["Content-Type"] = "application/json"
        url = self._url(path)
        query = _clean(params)
        response = self._attempts(
            lambda: self._request(
                method,
                url,
                headers=extra,
                params=query,
                content=body if content is None else content(),
            ),
            idempotent,
        )
        raise_for(response)
        if not response.content:
            return None
        return orjson.loads(response.content)

    def stream(self, path: str) -> httpx.Response:
        """A GET whose body is read by the caller in chunks (close the response after)."""
        url = self._url(path)
        response = self._attempts(
            lambda: self._request("GET", url, headers=self._headers, stream=True), True
        )
        if response.status_code >= 400:
            response.read()
            response.close()
            raise_for(response)
        return response

    def _url(self, path: str) -> httpx.URL:
        """The address of ``path`` on the server, parsed once: a training script sends its
        metric batches to one address over and over."""
        url = self._urls.get(path)
        if url is None:
            if len(self._urls) >= 1024:
                self._urls.clear()
            url = self._urls[path] = httpx.URL(self.base + path)
        return url

    def _request(
        self,
        method: str,
        url: httpx.URL,
        *,
        headers: Mapping[str, str],
        params: Any = None,
        content: Any = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send one request with the client's timeouts and read its answer (only its head
        when ``stream``: the body is then the caller's to read and close)."""
        request = httpx.Request(
            method,
            url,
            params=params,
            headers=headers,
            content=content,
            extensions={"timeout": self._timeout},
        )
        for observe in self.on_request:
            observe(request)
        response = self.transport.handle_request(request)
        if not stream:
            try:
                response.read()
            finally:
                response.close()
        return response

    def _attempts(self, call: Callable[[], httpx.Response], idempotent: bool) -> httpx.Response:
        """``call`` until it is answered, repeated where that is safe while the retry budget
        lasts; the answer (an error answer not repeated is the caller's to raise)."""
        budget = RetryBudget(self.retry_seconds, self.retries)
        while True:
            asked: float | None = None
            answer: httpx.Response | None = None
            failure = ""
            try:
                response = call()
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure = str(exc) or type(exc).__name__
            except _SENT_BUT_BROKEN as exc:
                if not idempotent:
                    raise ServiceUnavailable(
                        f"the connection to the Shipyard server at {self.base} broke during a "
                        f"request that cannot be repeated safely ({exc}); check whether it "
                        "took effect before retrying"
                    ) from None
                failure = str(exc) or type(exc).__name__
            except httpx.TimeoutException as exc:
                raise ServiceUnavailable(
                    f"the Shipyard server at {self.base} did not answer in time ({exc}); "
                    "raise SHIPYARD_HTTP_TIMEOUT or check the server"
                ) from None
            else:
                if response.status_code not in RETRY_STATUSES or not idempotent:
                    return response
                response.read()
                response.close()
                answer, asked = response, retry_after(response.headers)
            if not budget.wait(asked):
                raise _gave_up(self.base, budget, answer, failure)


def _gave_up(
    base: str, budget: RetryBudget, answer: httpx.Response | None, failure: str
) -> ServiceUnavailable:
    """The error of a call whose retries are spent: the server, what it last answered (or
    why it could not be reached), and how long the client tried."""
    tried = (
        f"{budget.attempts} attempt{'s' * (budget.attempts > 1)} over {budget.elapsed:.1f}s"
        f" (SHIPYARD_HTTP_RETRY_SECONDS={budget.seconds:g}, "
        f"SHIPYARD_HTTP_RETRIES={budget.retries})"
    )
    if answer is None:
        return ServiceUnavailable(
            f"cannot reach the Shipyard server at {base}: {failure}; {tried}; check "
            "SHIPYARD_TRACKING_URI and that the server is running"
        )
    reason = _server_message(answer)
    wanted = retry_after(answer.headers)
    asked = f", asking to retry after {wanted:g}s" if wanted else ""
    return ServiceUnavailable(
        f"the Shipyard server at {base} still answered {answer.status_code} "
        f"{answer.reason_phrase}{asked} after {tried}: {reason}",
        status=answer.status_code,
    )


def _server_message(response: httpx.Response) -> str:
    """What an error answer says: the message of a Shipyard error body, else its text."""
    body = _json_body(response)
    if body is not None and isinstance(body.get("message"), str):
        return str(body["message"])
    return response.text[:200].strip() or "(no body)"


def _json_body(response: httpx.Response) -> dict[str, Any] | None:
    """An answer's body when it is a JSON object (a Shipyard error body is one)."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def raise_for(response: httpx.Response) -> None:
    """Raise the Shipyard error an error response stands for."""
    status = response.status_code
    if status < 400:
        return
    body = _json_body(response)
    if body is not None and isinstance(body.get("code"), str):
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


def _environment_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (``HTTP_PROXY``, ``HTTPS_PROXY`` or
    ``ALL_PROXY``; none for a host ``NO_PROXY`` lists), as ``httpx.Client`` would pick it."""
    parts = urlsplit(url)
    proxies = getproxies_environment()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if proxy is None or proxy_bypass(parts.hostname or ""):
        return None
    return proxy


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
