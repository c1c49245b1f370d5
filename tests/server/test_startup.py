"""What the server has ready before it reports ready: FastAPI's per-router route contexts
(built lazily on the first request otherwise, about 2 s of CPU), and the HTTP protocol that
sets TCP_NODELAY on every connection."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from shipyard import _uvicorn
from shipyard.config import Settings
from shipyard.server import create_app
from shipyard.server._app import api_routes, warm_routes


def _included_routers(app: Any) -> list[Any]:
    return [route for route in app.router.routes if hasattr(route, "effective_candidates")]


def test_a_started_app_has_built_every_route_context(sqlite_settings: Settings) -> None:
    app = create_app(sqlite_settings)
    routers = _included_routers(app)
    assert routers  # the API is served through included routers
    with TestClient(app) as http:  # runs the lifespan start-up, as uvicorn does
        # FastAPI keeps a built router's contexts with the routes' version they were built
        # from; None means the first request would build them
        unbuilt = [r for r in routers if r._effective_candidates_version is None]
        assert unbuilt == []
        assert http.get("/healthz").json() == {"status": "ok"}


def test_warming_builds_a_context_for_every_endpoint(sqlite_settings: Settings) -> None:
    app = create_app(sqlite_settings)
    assert warm_routes(app) >= len(api_routes())


def test_both_servers_use_the_fastest_installed_protocol_with_nodelay() -> None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from shipyard.serving._run import uvicorn_options

    options = _uvicorn.protocol_options()
    assert issubclass(options["http"], HttpToolsProtocol)  # the `serving` extra is installed
    assert "connection_made" in vars(options["http"])  # where TCP_NODELAY is set
    assert uvicorn_options()["http"] is options["http"]
    assert options["loop"] == "uvloop"
