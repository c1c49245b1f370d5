"""The Shipyard server application: the Store protocol over HTTP, with health, metrics and
errors that map 1:1 to ``shipyard.errors``.

Every error a caller can cause is answered with its ``ShipyardError``'s HTTP status and
``to_dict()`` body (``code``, ``message``, ``field``), which the REST client turns back into
the same exception. Input the schema refuses is a 422 naming the field; only a bug is a 500.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

import shipyard
from shipyard.client import LocalStore
from shipyard.config import Settings
from shipyard.errors import ShipyardError
from shipyard.server import (
    _routes_access,
    _routes_artifacts,
    _routes_blobs,
    _routes_data,
    _routes_deployments,
    _routes_features,
    _routes_leases,
    _routes_monitoring,
    _routes_pipelines,
    _routes_predictions,
    _routes_registry,
    _routes_tracking,
    _routes_views,
    _schemas as s,
)
from shipyard.server._access import CallerDep, get_caller, projects_with
from shipyard.server._http import respond
from shipyard.server._mlflow_app import mount_mlflow
from shipyard.server._observe import HTTP_CODES, ObserveMiddleware, metrics_payload
from shipyard.server._routes_ui import mount_ui
from shipyard.server._state import Backend

log = logging.getLogger("shipyard.server")


def create_app(settings: Settings, store: LocalStore | None = None) -> FastAPI:
    """The ASGI application serving ``settings``' store (or ``store``) under ``/api/v1``."""
    backend = Backend.from_settings(store or LocalStore(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warm_routes(app)
        yield
        app.state.backend.close()

    app = FastAPI(
        title="Shipyard",
        version=shipyard.__version__,
        summary="Experiment tracking, lineage and access control over HTTP.",
        lifespan=lifespan,
        openapi_url=None,  # served below, behind the API's authentication
        docs_url=None,
        redoc_url=None,
    )
    _serve_api_document(app)
    app.state.backend = backend
    app.add_middleware(ObserveMiddleware)
    app.add_exception_handler(ShipyardError, _shipyard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    for router in ROUTERS:
        app.include_router(router)
    mount_mlflow(app)
    mount_ui(app)  # last: its page addresses must not shadow an API path
    _document_extra_models(app)
    return app


def warm_routes(app: FastAPI) -> int:
    """Build the route contexts of every included router now, and return how many were
    built. FastAPI builds them (their pydantic TypeAdapters) on the first request that walks
    a router, which then costs about 2 s of CPU; the lifespan calls this before the server
    reports ready, so no caller pays for it."""
    built = 0
    pending: list[Any] = list(app.router.routes)
    while pending:
        route = pending.pop()
        candidates = getattr(route, "effective_candidates", None)
        if candidates is None:  # a plain route, or a mount
            continue
        built += len(route.effective_low_priority_routes())
        for candidate in candidates():
            if hasattr(candidate, "effective_candidates"):
                pending.append(candidate)
            else:
                built += 1
    return built


def _document_extra_models(app: FastAPI) -> None:
    """Add the models of hand-decoded bodies (``EXTRA_MODELS``) to the API document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = generate()
            components = spec.setdefault("components", {}).setdefault("schemas", {})
            for model in s.EXTRA_MODELS:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, definition in schema.pop("$defs", {}).items():
                    components.setdefault(name, definition)
                components[model.__name__] = schema
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _serve_api_document(app: FastAPI) -> None:
    """``/api/v1/openapi.json`` and its ``/api/v1/docs`` page, for callers the API accepts
    (a token when authentication is on, like every other route)."""

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    async def openapi_document(caller: CallerDep) -> Response:
        return respond(app.openapi(), 200)

    @app.get("/api/v1/docs", include_in_schema=False)
    async def docs_page(caller: CallerDep) -> Response:
        return get_swagger_ui_html(openapi_url="/api/v1/openapi.json", title="Shipyard API")


def api_routes() -> list[tuple[str, str]]:
    """(method, path template) of every endpoint the app serves, for checks and tests."""
    return sorted(
        (method, route.path)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    )


async def _shipyard_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ShipyardError)
    if exc.http_status >= 500:
        log.error("%s: %s", type(exc).__name__, exc.message)
    return respond(exc.to_dict(), exc.http_status)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    """422 naming the first field at fault, with every problem in ``details``."""
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":  # loc is ("body", <character offset>)
            problems.append({"field": "body", "message": _json_problem(error)})
            continue
        location = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
        if location and location[0] in ("query", "path", "header"):
            location = location[1:]
        problems.append({"field": ".".join(location) or "body", "message": error.get("msg", "")})
    first = problems[0] if problems else {"field": "body", "message": "invalid request"}
    body = {
        "code": "invalid_argument",
        "message": f"{first['field']}: {first['message']}",
        "field": first["field"],
        "details": {"errors": problems},
    }
    return respond(body, 422)


def _json_problem(error: dict[str, Any]) -> str:
    """A JSON decode error in words: what is wrong and at which character of the body."""
    where = error.get("loc", ())
    position = where[1] if len(where) > 1 and isinstance(where[1], int) else None
    reason = str((error.get("ctx") or {}).get("error", "")) or "JSON decode error"
    at = f" at character {position}" if position is not None else ""
    return f"the request body is not valid JSON{at}: {reason}"


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # a body that is not JSON at all: bad input like any other
        body = {"code": "invalid_argument", "message": f"body: {exc.detail}", "field": "body"}
        return respond(body, 422)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    return respond({"code": code, "message": str(exc.detail)}, exc.status_code)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error handling %s %s", request.method, request.url.path)
    return respond({"code": "internal", "message": "internal server error; see the log"}, 500)


def _service_router() -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        """The process is up (liveness)."""
        return {"status": "ok"}

    @router.get("/readyz", tags=["service"], responses={503: {"model": s.ErrorBody}})
    async def readyz(request: Request) -> Response:
        """The database and the artifact store answer (readiness)."""
        backend: Backend = request.app.state.backend
        try:
            await run_in_threadpool(_check_backends, backend.store)
        except Exception as exc:
            message = f"not ready: {exc}"
            return respond({"code": "unavailable", "message": message}, 503)
        return respond({"status": "ready"})

    @router.get("/metrics", tags=["service"], response_class=Response)
    async def metrics(request: Request) -> Response:
        """Prometheus metrics: requests and latency by route, process memory and CPU, and
        when each feature view was last materialized (the views of the projects the caller
        may read: with authentication on, a scrape without a token sees none)."""
        backend: Backend = request.app.state.backend
        projects = await _scraped_projects(request, backend)
        payload, content_type = await run_in_threadpool(
            lambda: metrics_payload(backend.feature_metrics.registry(projects))
        )
        return Response(payload, media_type=content_type)

    @router.get("/api/v1/info", response_model=s.Info, tags=["service"])
    def info(request: Request) -> dict[str, Any]:
        """Version, whether tokens are required, and the upload size limit."""
        backend: Backend = request.app.state.backend
        return {
            "version": shipyard.__version__,
            "auth": backend.auth,
            "max_upload_bytes": backend.max_upload_bytes,
        }

    return router


async def _scraped_projects(request: Request, backend: Backend) -> list[str] | None:
    """The projects whose feature views a scrape may see: every one without authentication,
    none without a token, else those the token's user may read (a bad token is a 401).

    Bearer credentials that are empty or blank count as no token: Prometheus sends
    ``Authorization: Bearer`` while its credentials file is still empty, and that scrape
    should get the request metrics rather than fail."""
    if not backend.auth:
        return None
    scheme, _, credentials = request.headers.get("authorization", "").strip().partition(" ")
    if not scheme or (scheme.lower() == "bearer" and not credentials.strip()):
        return []
    caller = await get_caller(request)
    return projects_with(caller.user, "viewer")


def _check_backends(store: LocalStore) -> None:
    """Raise unless the database and the artifact store answer now (no retries: a probe
    must answer quickly, and answers again a few seconds later)."""
    store.ping_database()
    blobs = store.blobs
    # An object store has no folders until something is written: check the bucket.
    root = blobs.root if blobs.is_local else blobs.root.split("/", 1)[0]
    if not blobs.fs.exists(root):
        raise RuntimeError(f"artifact store {store.settings.artifacts_uri} is not reachable")


#: In the order FastAPI tries them: tracking first, for its metric batches (the hot path).
ROUTERS = [
    _routes_tracking.router,
    _service_router(),
    _routes_features.router,
    _routes_artifacts.router,
    _routes_blobs.router,
    _routes_access.router,
    _routes_registry.router,
    _routes_data.router,
    _routes_pipelines.router,
    _routes_monitoring.router,
    _routes_deployments.router,
    _routes_predictions.router,
    _routes_leases.router,
    _routes_views.router,
]
