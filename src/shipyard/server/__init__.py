"""The Shipyard server: the Store protocol over HTTP (FastAPI), with authentication, project
roles, an audit log, health checks and Prometheus metrics.

``create_app(settings)`` builds the ASGI application; ``serve(...)`` runs it with uvicorn (one
process or several sharing a socket); ``bind_socket`` makes the kind of listening socket it
uses (TCP_NODELAY) for running the app under your own server; ``check_auth`` refuses a
configuration that would serve without authentication on an address other machines reach, or
with authentication but no usable token. ``shipyard server`` is the command that does all of it.
"""

from shipyard.server._app import create_app
from shipyard.server._serve import bind_socket, check_auth, serve

__all__ = ["bind_socket", "check_auth", "create_app", "serve"]
