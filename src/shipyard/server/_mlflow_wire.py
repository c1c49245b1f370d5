"""How the MLflow REST API speaks: its routes, request fields, errors and record shapes.

MLflow's client sends protobuf-JSON (a JSON body for writes, query parameters for reads) and
expects errors as ``{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": ...}`` with the
HTTP status MLflow's own server uses. :func:`mlflow_route` wraps a plain handler
``(caller, args) -> answer`` into a Starlette route that authenticates the caller exactly as
the Shipyard API does (``Authorization: Bearer <token>``, which is what MLflow's client sends
from ``MLFLOW_TRACKING_TOKEN``), reads the request into :class:`Args`, runs the handler in
the thread pool, and turns every Shipyard error into MLflow's error body.

The routes are plain Starlette routes, not FastAPI ones: MLflow's API is documented by
MLflow, not by Shipyard's API document, and its handlers do their own checks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from shipyard.entities import Experiment, MetricPoint, Run
from shipyard.errors import (
    AlreadyExists,
    Conflict,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
    ShipyardError,
    TooLarge,
    Unauthenticated,
)
from shipyard.server._access import Caller, get_caller
from shipyard.server._http import JSON_BODY_LIMIT

#: Where MLflow's client finds the API (the second is what MLflow's web UI calls).
PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
#: Every path prefix of MLflow's API: the tracking API's, version 3's and the artifact proxy.
ALL_PREFIXES = (*PREFIXES, "/api/3.0/mlflow", "/ajax-api/3.0/mlflow", "/api/2.0/mlflow-artifacts")
#: MLflow's name for the experiment a run goes to when none is set.
DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
#: The experiment tag that names the Shipyard project of a new experiment (MLflow has none).
PROJECT_TAG = "shipyard.project"
_INT64 = 2**63 - 1
#: MLflow's POST routes that only read (searches with a body): not writes for the audit log.
READ_ONLY_POSTS = frozenset(
    {
        "/runs/search",
        "/experiments/search",
        "/logged-models/search",
        "/registered-models/get-latest-versions",
    }
)

#: (MLflow error code, HTTP status) of each Shipyard error class, most specific first.
_ERRORS: tuple[tuple[type[ShipyardError], str, int], ...] = (
    (NotFound, "RESOURCE_DOES_NOT_EXIST", 404),
    (AlreadyExists, "RESOURCE_ALREADY_EXISTS", 400),
    (Conflict, "INVALID_STATE", 400),
    (InvalidArgument, "INVALID_PARAMETER_VALUE", 400),
    (PermissionDenied, "PERMISSION_DENIED", 403),
    (Unauthenticated, "UNAUTHENTICATED", 401),
    (TooLarge, "RESOURCE_EXHAUSTED", 413),
    (ServiceUnavailable, "TEMPORARILY_UNAVAILABLE", 503),
)


def mlflow_error(exc: ShipyardError) -> Response:
    """MLflow's error body and status for a Shipyard error."""
    for cls, code, status in _ERRORS:
        if isinstance(exc, cls):
            return error_response(code, exc.message, status)
    return error_response("INTERNAL_ERROR", exc.message, 500)


def error_response(code: str, message: str, status: int) -> Response:
    """An error in MLflow's format."""
    body = orjson.dumps({"error_code": code, "message": message})
    return Response(body, status_code=status, media_type="application/json")


def answer(data: Any) -> Response:
    """A 200 JSON answer."""
    return Response(orjson.dumps(data), media_type="application/json")


class Args:
    """The fields of one request, with checks that name the field at fault."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def text(self, name: str, *others: str, default: str | None = None) -> str:
        """A string field (``others``: older names of the same field, tried in turn)."""
        for key in (name, *others):
            value = self.data.get(key)
            if value not in (None, ""):
                if not isinstance(value, str):
                    raise InvalidArgument(f"{name} must be a string, got {value!r}", field=name)
                return value
        if default is not None:
            return default
        raise InvalidArgument(f"missing value for required parameter {name!r}", field=name)

    def optional_text(self, name: str) -> str | None:
        value = self.data.get(name)
        return None if value in (None, "") else self.text(name)

    def int(self, name: str, default: int | None = None, *, low: int = -_INT64) -> int | None:
        """An int64 field (protobuf-JSON may send it as a string), ``default`` when absent."""
        value = self.data.get(name)
        if value in (None, ""):
            return default
        try:
            number = int(value) if not isinstance(value, (bool, float)) else None
        except (TypeError, ValueError):
            number = None
        if number is None or not low <= number <= _INT64:
            raise InvalidArgument(f"{name} must be an integer, got {value!r}", field=name)
        return number

    def float(self, name: str) -> float:
        """A double field: a number, or one of protobuf-JSON's NaN / Infinity strings."""
        value = self.data.get(name)
        if isinstance(value, bool) or value is None:
            raise InvalidArgument(f"{name} must be a number, got {value!r}", field=name)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InvalidArgument(f"{name} must be a number, got {value!r}", field=name) from None

    def strings(self, name: str) -> list[str]:
        """A repeated string field."""
        value = self.data.get(name)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidArgument(f"{name} must be a list of strings", field=name)
        return value

    def pairs(self, name: str) -> dict[str, str]:
        """A repeated ``{key, value}`` field (tags, params) as a dict."""
        found: dict[str, str] = {}
        for i, item in enumerate(self.records(name)):
            key, value = item.get("key"), item.get("value", "")
            if not isinstance(key, str):
                raise InvalidArgument(f"{name}[{i}].key must be a string", field=name)
            found[key] = value if isinstance(value, str) else str(value)
        return found

    def records(self, name: str) -> list[dict[str, Any]]:
        """A repeated message field."""
        value = self.data.get(name) or []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise InvalidArgument(f"{name} must be a list of objects", field=name)
        return value


Handler = Callable[[Caller, Args], Any]


async def _read_args(request: Request) -> Args:
    args = await _request_fields(request)
    return Args({**args.data, **request.path_params}) if request.path_params else args


async def _request_fields(request: Request) -> Args:
    if request.method in ("GET", "DELETE") and not request.headers.get("content-length"):
        data: dict[str, Any] = {}
        for key, value in request.query_params.multi_items():
            if key in data:
                existing = data[key]
                data[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
            else:
                data[key] = value
        return Args(data)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > JSON_BODY_LIMIT:
            raise TooLarge(f"the request body is over {JSON_BODY_LIMIT // 2**20} MiB")
    if not body.strip():
        return Args(dict(request.query_params))
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"the request body is not valid JSON: {exc}", field="body") from None
    if not isinstance(parsed, dict):
        raise InvalidArgument("the request body must be a JSON object", field="body")
    return Args(parsed)


class MlflowRoute(Route):
    """A route of MLflow's API that puts itself in the request scope, as FastAPI's routes do,
    so request metrics and the audit log name its path template (not ``<unmatched>``), and
    that says whether it only reads (``read_only``: a search sent as a POST), so the audit
    log records what changes something and nothing else, as for Shipyard's own routes."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: list[str],
        read_only: bool = False,
    ) -> None:
        super().__init__(path, endpoint, methods=methods)
        self.read_only = read_only

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE:
            child["route"] = self
        return match, child


class MlflowRoutes(BaseRoute):
    """Every route of MLflow's API as one route, placed first in the app: any other request
    costs it one prefix test, and an MLflow request finds its route by its exact path (or
    among the few with path parameters) instead of being tried against each of Shipyard's
    own routes first."""

    def __init__(self, routes: list[MlflowRoute], prefixes: tuple[str, ...]) -> None:
        self.prefixes = prefixes
        self.path = prefixes[0]  # what code listing the app's routes reads (as for a Mount)
        self.routes = routes
        self.exact: dict[str, list[MlflowRoute]] = {}
        self.patterns: list[MlflowRoute] = []
        for route in routes:
            if route.param_convertors:
                self.patterns.append(route)
            else:
                self.exact.setdefault(route.path, []).append(route)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if not path.startswith(self.prefixes):
            return Match.NONE, {}
        partial: tuple[Match, Scope] | None = None
        for route in (*self.exact.get(path, ()), *self.patterns):
            match, child = route.matches(scope)
            if match is Match.FULL:
                return match, child
            if match is Match.PARTIAL and partial is None:
                partial = (match, child)
        return partial or (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope["route"].handle(scope, receive, send)  # set by the route that matched


def mlflow_route(path: str, method: str, handler: Handler) -> list[MlflowRoute]:
    """The route (under every MLflow prefix) serving ``handler``: authenticated, its request
    read into :class:`Args`, its errors in MLflow's format. A handler returns a JSON-able
    value or a ready Response. GETs and the POSTs of :data:`READ_ONLY_POSTS` only read."""

    async def endpoint(request: Request) -> Response:
        try:
            caller = await get_caller(request)
            args = await _read_args(request)
            result = await run_in_threadpool(handler, caller, args)
        except ShipyardError as exc:
            return mlflow_error(exc)
        return result if isinstance(result, Response) else answer(result)

    read_only = method == "GET" or path in READ_ONLY_POSTS
    return [
        MlflowRoute(prefix + path, endpoint, methods=[method], read_only=read_only)
        for prefix in PREFIXES
    ]


# ----------------------------------------------------------------------------- records


def number(value: float) -> float | str:
    """A double for protobuf-JSON: NaN and infinities as the strings it reads back."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def key_values(items: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in items.items()]


def experiment_json(exp: Experiment) -> dict[str, Any]:
    """An experiment as MLflow's ``Experiment`` message."""
    tags = dict(exp.tags)
    if exp.description:
        tags.setdefault("mlflow.note.content", exp.description)
    tags.setdefault(PROJECT_TAG, exp.project)
    return {
        "experiment_id": exp.id,
        "name": exp.name,
        "artifact_location": f"mlflow-artifacts:/{exp.id}",
        "lifecycle_stage": str(exp.lifecycle),
        "creation_time": exp.created_at,
        "last_update_time": exp.updated_at,
        "tags": key_values(tags),
    }


def run_info_json(run: Run) -> dict[str, Any]:
    """A run's ``RunInfo`` message (artifacts live under the artifact proxy's paths)."""
    info: dict[str, Any] = {
        "run_id": run.id,
        "run_uuid": run.id,
        "run_name": run.name,
        "experiment_id": run.experiment_id,
        "user_id": run.user,
        "status": str(run.status),
        "start_time": run.start_time,
        "artifact_uri": f"mlflow-artifacts:/{run.experiment_id}/{run.id}/artifacts",
        "lifecycle_stage": str(run.lifecycle),
    }
    if run.end_time is not None:
        info["end_time"] = run.end_time
    return info


def run_json(run: Run) -> dict[str, Any]:
    """A run as MLflow's ``Run`` message. Shipyard keeps the latest value of each metric, not
    its step and time: those read as the run's last time and step 0 (the history has them)."""
    at = run.end_time or run.start_time
    tags = dict(run.tags)
    tags.setdefault("mlflow.runName", run.name)
    if run.user:
        tags.setdefault("mlflow.user", run.user)
    if run.parent_run_id:
        tags.setdefault("mlflow.parentRunId", run.parent_run_id)
    metrics = [
        {"key": k, "value": number(v), "timestamp": at, "step": 0} for k, v in run.metrics.items()
    ]
    return {
        "info": run_info_json(run),
        "data": {"metrics": metrics, "params": key_values(run.params), "tags": key_values(tags)},
        "inputs": {},
        "outputs": {},
    }


def metric_json(point: MetricPoint) -> dict[str, Any]:
    return {
        "key": point.key,
        "value": number(point.value),
        "timestamp": point.timestamp,
        "step": point.step,
    }


def metric_points(items: list[dict[str, Any]]) -> list[MetricPoint]:
    """The metric points of a ``log-batch`` request. An entry in the form MLflow's client
    sends (a string key, a number value, integer timestamp and step in range) is read
    directly; any other goes through :func:`metric_point`'s checks, which name the field at
    fault."""
    points = []
    for item in items:
        key: Any = item.get("key")
        value: Any = item.get("value")
        timestamp, step = item.get("timestamp", 0), item.get("step", 0)
        if (
            type(key) is str
            and key
            and type(value) in (float, int)
            and type(timestamp) is int
            and type(step) is int
            and 0 <= timestamp <= _INT64
            and -_INT64 <= step <= _INT64
        ):
            points.append(MetricPoint(key, float(value), step, timestamp))
        else:
            points.append(metric_point(Args(item)))
    return points


def metric_point(args: Args, item: Mapping[str, Any] | None = None) -> MetricPoint:
    """A metric point from a ``log-metric`` request or one ``log-batch`` entry."""
    source = args if item is None else Args(item)
    key = source.text("key")
    value = source.float("value")
    timestamp = source.int("timestamp", 0, low=0)
    step = source.int("step", 0)
    assert timestamp is not None and step is not None
    return MetricPoint(key, value, step, timestamp)


def not_served() -> list[MlflowRoute]:
    """Catch-alls answering MLflow's ``ENDPOINT_NOT_FOUND`` (404) for the MLflow API paths
    Shipyard does not serve (traces, prompts, ...), which MLflow's client treats as "this
    server has no such feature" where it can."""

    async def endpoint(request: Request) -> Response:
        return error_response(
            "ENDPOINT_NOT_FOUND",
            f"{request.method} {request.url.path} is not served by Shipyard's MLflow API "
            "(see docs/mlflow.md)",
            404,
        )

    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
    return [MlflowRoute(p + "/{rest:path}", endpoint, methods=methods) for p in ALL_PREFIXES]
