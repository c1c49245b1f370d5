"""The Shipyard server: the Store protocol over HTTP (FastAPI), with authentication, project
roles, an audit log, health checks and Prometheus metrics.

``create_app(settings)`` builds the ASGI application; ``serve(...)`` runs it with uvicorn (one
process or several sharing a socket). ``shipyard server`` is the command that does both.
"""

from shipyard.server._app import create_app
from shipyard.server._serve import serve

__all__ = ["create_app", "serve"]
