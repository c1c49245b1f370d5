"""The web UI: static pages and ES modules that the server serves under ``/``, and the links
to them.

The pages are a static shell (``static/index.html``) and small ES modules that call the same
REST API (``/api/v1``) with the same token as every other client, so a page sees and does
exactly what its user's role allows; nothing here reads the database. Third-party browser
libraries (uPlot for charts, Cytoscape.js for graphs) are vendored under ``static/vendor``
from npm by ``ui/vendor.py``, pinned by ``ui/package-lock.json``: users need no Node.

Every object has a stable address (:func:`object_path`), which the CLI prints beside what it
creates or shows when a server is configured (:func:`object_link`).
"""

from __future__ import annotations

from urllib.parse import quote

from shipyard.ui._shell import PAGES, STATIC_DIR, page_shell, static_imports

__all__ = [
    "PAGES",
    "PAGE_ROUTES",
    "STATIC_DIR",
    "object_link",
    "object_path",
    "page_shell",
    "static_imports",
]

PAGE_ROUTES = tuple(PAGES)
"""The addresses the shell answers: each is a page of the UI (the modules route inside it)."""

_PATHS = {
    "experiment": "/experiments/{}",
    "run": "/runs/{}",
    "model": "/models/{}",
    "model_version": "/models/{}/{}",
    "dataset": "/datasets/{}",
    "dataset_version": "/datasets/{}/{}",
    "pipeline": "/pipelines/{}",
    "pipeline_run": "/pipeline-runs/{}",
    "feature": "/features/{}/{}",
    "feature_view": "/features/feature_view/{}",
    "feature_service": "/features/service/{}",
    "entity": "/features/entity/{}",
    "monitor": "/monitors/{}",
}


def object_path(kind: str, *parts: str | int) -> str:
    """The UI's address of an object, e.g. ``object_path("model_version", "churn", 3)`` is
    ``/models/churn/3``; ``kind="lineage"`` takes a lineage node (``"run", id``).

    Raises:
        ValueError: for a kind with no page, or the wrong number of parts.
    """
    if kind == "lineage":
        if len(parts) != 2:
            raise ValueError("a lineage link takes a node kind and id")
        return "/lineage?node=" + quote(f"{parts[0]}:{parts[1]}", safe=":")
    if kind == "deployments":
        return "/deployments"
    template = _PATHS.get(kind)
    if template is None:
        raise ValueError(f"no UI page for {kind!r}; one of {sorted(_PATHS)}")
    if template.count("{}") != len(parts):
        raise ValueError(f"a {kind} link takes {template.count('{}')} part(s), got {len(parts)}")
    return template.format(*(quote(str(part), safe="") for part in parts))


def object_link(server_url: str | None, kind: str, *parts: str | int) -> str | None:
    """The full UI link of an object on the server at ``server_url``; None when no server is
    configured (embedded use has no address to print)."""
    if not server_url or not server_url.startswith(("http://", "https://")):
        return None
    return server_url.rstrip("/") + object_path(kind, *parts)
