"""What every route module of the API shares: the path prefix, the documented error answers,
the JSON body limit, the project filter of listings, and the two ways a handler answers (a
JSON body, or nothing).

A route module builds its router with ``api_router()`` and answers with ``respond`` or
``no_content``; handlers hand ``respond`` a ``to_dict`` form, which orjson serializes without
a second validation pass (the schemas document the answers, they do not check them).
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response

from shipyard.server import _schemas as s

API = "/api/v1"
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": s.ErrorBody, "description": text}
    for status, text in (
        (401, "No valid API token"),
        (403, "The caller's role does not allow this"),
        (404, "Not found"),
        (409, "Conflicts with the current state"),
        (413, "Too large"),
        (422, "Invalid input; `field` names it"),
        (503, "A backend (database, object store) is unavailable"),
    )
}

#: ``?project=a&project=b``: narrow a listing to these projects (of those the caller may read).
ProjectsQuery = Annotated[list[str] | None, Query()]

#: The largest JSON body accepted (a metric batch of 100,000 points is about 7 MiB); artifact
#: uploads stream to disk and have their own, configurable limit.
JSON_BODY_LIMIT = 64 * 2**20


def api_router(max_body_size: int = JSON_BODY_LIMIT) -> APIRouter:
    """A router of endpoints under ``/api/v1`` that documents the error answers and refuses
    (413) a body larger than ``max_body_size`` bytes."""
    return APIRouter(prefix=API, responses=ERRORS, max_body_size=max_body_size)


def respond(data: Any, status: int = 200) -> Response:
    """A JSON response of a ``to_dict`` form or an error body (serialized with orjson, not
    revalidated)."""
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def no_content() -> Response:
    """The empty 204 answer of a write that returns nothing."""
    return Response(status_code=204)
