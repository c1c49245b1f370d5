"""MLflow's model registry API (registered models, versions, aliases, tags) over Shipyard's
registry.

A version MLflow's client registers (``create_model_version`` with a ``source`` of
``models:/m-<id>``, ``runs:/<run>/<path>`` or ``mlflow-artifacts:/...``) becomes a Shipyard
version whose files are the source's files, already in the blob store (nothing is copied),
with flavor ``mlflow``: the folder is an MLflow model (``MLmodel`` and the flavor's files).
Shipyard never unpickles such a version unless its loader is told to trust it, as for any
pickle-based format. A new registered model goes to the project named by its
``shipyard.project`` tag (``default`` without one); roles are checked as in Shipyard's API:
viewer reads, editor creates and registers, maintainer moves aliases and deletes.

Stages (``transition-stage``) are deprecated in MLflow and not served: use aliases.
"""

from __future__ import annotations

import re
from typing import Any

from shipyard import _validation as v
from shipyard.entities import DEFAULT_PROJECT, ArtifactInfo, ModelVersion, RegisteredModel
from shipyard.errors import InvalidArgument, NotFound
from shipyard.importers import MLFLOW_FLAVOR
from shipyard.server._access import Caller
from shipyard.server._mlflow_artifacts import Place, place_of
from shipyard.server._mlflow_models import ID_PREFIX, logged_model
from shipyard.server._mlflow_wire import PROJECT_TAG, Args, MlflowRoute, key_values, mlflow_route
from shipyard.server._routes_registry import require_model

_MAX_RESULTS = 1000


def _who(caller: Caller) -> str:
    return caller.user.name if caller.backend.auth else ""


def _version(args: Args) -> int:
    value = args.int("version", None, low=1)
    if value is None:
        raise InvalidArgument("missing value for required parameter 'version'", field="version")
    return v.check_version(value)


def model_json(model: RegisteredModel, latest: ModelVersion | None = None) -> dict[str, Any]:
    """A registered model as MLflow's ``RegisteredModel`` message."""
    body: dict[str, Any] = {
        "name": model.name,
        "creation_timestamp": model.created_at,
        "last_updated_timestamp": model.updated_at,
        "user_id": model.owner,
        "description": model.description,
        "tags": key_values({**model.tags, PROJECT_TAG: model.project}),
        "aliases": [{"alias": a, "version": str(n)} for a, n in sorted(model.aliases.items())],
    }
    if latest is not None:
        body["latest_versions"] = [version_json(latest)]
    return body


def version_json(version: ModelVersion) -> dict[str, Any]:
    """A model version as MLflow's ``ModelVersion`` message."""
    body: dict[str, Any] = {
        "name": version.name,
        "version": str(version.version),
        "creation_timestamp": version.created_at,
        "last_updated_timestamp": version.updated_at,
        "user_id": version.created_by,
        "current_stage": "None",
        "description": version.description,
        "source": version.source,
        "status": "READY",
        "tags": key_values(version.tags),
        "aliases": sorted(version.aliases),
    }
    if version.run_id:
        body["run_id"] = version.run_id
    model_id = version.metadata.get("mlflow_model_id")
    if isinstance(model_id, str):
        body["model_id"] = model_id
    return body


def _model(caller: Caller, args: Args, role: str) -> str:
    name = args.text("name")
    require_model(caller, name, role)
    return name


# ----------------------------------------------------------------------------- models


def create_registered_model(caller: Caller, args: Args) -> dict[str, Any]:
    tags = args.pairs("tags")
    project = v.check_project(tags.pop(PROJECT_TAG, None) or DEFAULT_PROJECT)
    caller.require(project, "editor")
    model = caller.store.create_registered_model(
        args.text("name"), args.optional_text("description") or "", tags, _who(caller), project
    )
    return {"registered_model": model_json(model)}


def get_registered_model(caller: Caller, args: Args) -> dict[str, Any]:
    name = _model(caller, args, "viewer")
    model = caller.store.get_registered_model(name)
    latest = (
        caller.store.get_model_version_by_alias(name, "latest") if model.latest_version else None
    )
    return {"registered_model": model_json(model, latest)}


def update_registered_model(caller: Caller, args: Args) -> dict[str, Any]:
    name = _model(caller, args, "editor")
    model = caller.store.update_registered_model(name, args.optional_text("description"))
    return {"registered_model": model_json(model)}


def delete_registered_model(caller: Caller, args: Args) -> dict[str, Any]:
    caller.store.delete_registered_model(_model(caller, args, "maintainer"))
    return {}


def search_registered_models(caller: Caller, args: Args) -> dict[str, Any]:
    """Models the caller may read; the filter takes ``name = 'x'`` or ``name LIKE '%x%'``."""
    name, exact = _name_filter(args.optional_text("filter"))
    limit = min(args.int("max_results", 100, low=1) or 100, _MAX_RESULTS)
    wanted = caller.projects_for("viewer", None)
    found = caller.store.list_registered_models(name, _MAX_RESULTS, wanted)
    if exact:
        found = [m for m in found if m.name == name]
    start = args.int("page_token", 0, low=0) or 0
    page = found[start : start + limit]
    body: dict[str, Any] = {"registered_models": [model_json(m) for m in page]}
    if start + len(page) < len(found):
        body["next_page_token"] = str(start + len(page))
    return body


def _name_filter(text: str | None) -> tuple[str | None, bool]:
    """(name or substring, exact) of a registry search filter."""
    if not text or not text.strip():
        return None, False
    match = re.fullmatch(
        r"\s*name\s*(=|i?like)\s*(['\"])(.*)\2\s*", text, flags=re.IGNORECASE | re.DOTALL
    )
    if match is None:
        raise InvalidArgument(
            f"filter {text!r} is not supported; use name = '...' or name LIKE '%...%'",
            field="filter",
        )
    op, value = match.group(1).lower(), match.group(3)
    if op == "=":
        return value, True
    return value.strip("%"), False


def set_registered_model_tag(caller: Caller, args: Args) -> dict[str, Any]:
    name = _model(caller, args, "editor")
    caller.store.update_registered_model(name, tags={args.text("key"): str(args.data["value"])})
    return {}


def delete_registered_model_tag(caller: Caller, args: Args) -> dict[str, Any]:
    caller.store.delete_registered_model_tag(_model(caller, args, "editor"), args.text("key"))
    return {}


def get_latest_versions(caller: Caller, args: Args) -> dict[str, Any]:
    name = _model(caller, args, "viewer")
    model = caller.store.get_registered_model(name)
    if not model.latest_version:
        return {"model_versions": []}
    return {
        "model_versions": [version_json(caller.store.get_model_version_by_alias(name, "latest"))]
    }


# ----------------------------------------------------------------------------- versions


def _source_files(caller: Caller, source: str, model_id: str | None) -> tuple[Place, str | None]:
    """The run tree folder a version's ``source`` names, and the logged model id if any."""
    if model_id is None and source.startswith(f"models:/{ID_PREFIX}"):
        model_id = source[len("models:/") :].strip("/")
    if model_id is not None:
        return Place(logged_model(caller, model_id, "viewer").id, ""), model_id
    if source.startswith("runs:/"):
        run_id, _, path = source[len("runs:/") :].partition("/")
        caller.require_run(run_id, "viewer")
        return Place(run_id, v.check_artifact_path(path.strip("/")) if path else ""), None
    if source.startswith("mlflow-artifacts:/"):
        return place_of(caller, source[len("mlflow-artifacts:/") :], "viewer"), None
    raise InvalidArgument(
        f"source {source!r} is not a Shipyard location; use models:/m-..., runs:/... or "
        "mlflow-artifacts:/... (log the model to this server first)",
        field="source",
    )


def create_model_version(caller: Caller, args: Args) -> dict[str, Any]:
    name = v.check_model_name(args.text("name"))
    place, model_id = _source_files(caller, args.text("source"), args.optional_text("model_id"))
    start = f"{place.path}/" if place.path else ""
    files = [
        ArtifactInfo(f.path[len(start) :], f.digest, f.size)
        for f in caller.store.list_artifacts(place.run_id, place.path)
        if f.path.startswith(start)
    ]
    if not files:
        raise NotFound(f"no model files at {args.text('source')!r}", field="source")
    if caller.backend.auth:
        caller.require(caller.store.model_project(name) or DEFAULT_PROJECT, "editor")
    source_run = caller.store.get_run(place.run_id)
    run_id = args.optional_text("run_id") or source_run.parent_run_id or source_run.id
    if run_id != source_run.id:
        caller.require_run(run_id, "viewer")
    metadata: dict[str, Any] = {"format": MLFLOW_FLAVOR}
    if model_id is not None:
        metadata["mlflow_model_id"] = model_id
    version = caller.store.create_model_version(
        name,
        files,
        flavor=MLFLOW_FLAVOR,
        source=args.text("source"),
        run_id=run_id,
        metadata=metadata,
        description=args.optional_text("description") or "",
        tags=args.pairs("tags"),
        created_by=_who(caller),
    )
    return {"model_version": version_json(version)}


def get_model_version(caller: Caller, args: Args) -> dict[str, Any]:
    name = _model(caller, args, "viewer")
    return {"model_version": version_json(caller.store.get_model_version(name, _version(args)))}


def update_model_version(caller: Caller, args: Args) -> dict[str, Any]:
    name = _model(caller, args, "editor")
    found = caller.store.update_model_version(
        name, _version(args), args.optional_text("description")
    )
    return {"model_version": version_json(found)}


def delete_model_version(caller: Caller, args: Args) -> dict[str, Any]:
    caller.store.delete_model_version(_model(caller, args, "maintainer"), _version(args))
    return {}


def search_model_versions(caller: Caller, args: Args) -> dict[str, Any]:
    """Versions of one model (the filter is ``name = '...'``), the highest first."""
    name, exact = _name_filter(args.optional_text("filter"))
    if name is None or not exact:
        raise InvalidArgument("filter must name one model: name = '...'", field="filter")
    require_model(caller, name, "viewer")
    limit = min(args.int("max_results", 1000, low=1) or 1000, 10_000)
    found = caller.store.list_model_versions(name)[:limit]
    return {"model_versions": [version_json(x) for x in found]}


def get_download_uri(caller: Caller, args: Args) -> dict[str, Any]:
    name = _model(caller, args, "viewer")
    version = caller.store.get_model_version(name, _version(args))
    return {"artifact_uri": _artifact_uri(caller, version)}


def _artifact_uri(caller: Caller, version: ModelVersion) -> str:
    model_id = version.metadata.get("mlflow_model_id")
    if isinstance(model_id, str):
        run = logged_model(caller, model_id, "viewer")
        return f"mlflow-artifacts:/{run.experiment_id}/models/{model_id}/artifacts"
    if version.source.startswith("runs:/") and version.run_id:
        run = caller.store.get_run(version.run_id)
        path = version.source[len("runs:/") :].partition("/")[2].strip("/")
        return f"mlflow-artifacts:/{run.experiment_id}/{run.id}/artifacts/{path}".rstrip("/")
    return version.source


def set_model_version_tag(caller: Caller, args: Args) -> dict[str, Any]:
    name = _model(caller, args, "editor")
    tags = {args.text("key"): str(args.data.get("value", ""))}
    caller.store.update_model_version(name, _version(args), tags=tags)
    return {}


def delete_model_version_tag(caller: Caller, args: Args) -> dict[str, Any]:
    name = _model(caller, args, "editor")
    caller.store.delete_model_version_tag(name, _version(args), args.text("key"))
    return {}


# ----------------------------------------------------------------------------- aliases


def set_alias(caller: Caller, args: Args) -> dict[str, Any]:
    name = _model(caller, args, "maintainer")
    caller.store.set_model_alias(name, args.text("alias"), _version(args), actor=_who(caller))
    return {}


def delete_alias(caller: Caller, args: Args) -> dict[str, Any]:
    name = _model(caller, args, "maintainer")
    caller.store.delete_model_alias(name, args.text("alias"), actor=_who(caller))
    return {}


def get_by_alias(caller: Caller, args: Args) -> dict[str, Any]:
    name = _model(caller, args, "viewer")
    found = caller.store.get_model_version_by_alias(name, args.text("alias"))
    return {"model_version": version_json(found)}


def refuse_stages(caller: Caller, args: Args) -> dict[str, Any]:
    raise InvalidArgument(
        "model stages are deprecated in MLflow and not supported by Shipyard; use aliases "
        "(client.set_registered_model_alias)",
        field="stage",
    )


def routes() -> list[MlflowRoute]:
    """The routes of MLflow's model registry API."""
    table = [
        ("/registered-models/create", "POST", create_registered_model),
        ("/registered-models/get", "GET", get_registered_model),
        ("/registered-models/update", "PATCH", update_registered_model),
        ("/registered-models/delete", "DELETE", delete_registered_model),
        ("/registered-models/search", "GET", search_registered_models),
        ("/registered-models/get-latest-versions", "POST", get_latest_versions),
        ("/registered-models/get-latest-versions", "GET", get_latest_versions),
        ("/registered-models/set-tag", "POST", set_registered_model_tag),
        ("/registered-models/delete-tag", "DELETE", delete_registered_model_tag),
        ("/registered-models/alias", "POST", set_alias),
        ("/registered-models/alias", "DELETE", delete_alias),
        ("/registered-models/alias", "GET", get_by_alias),
        ("/model-versions/create", "POST", create_model_version),
        ("/model-versions/get", "GET", get_model_version),
        ("/model-versions/update", "PATCH", update_model_version),
        ("/model-versions/delete", "DELETE", delete_model_version),
        ("/model-versions/search", "GET", search_model_versions),
        ("/model-versions/get-download-uri", "GET", get_download_uri),
        ("/model-versions/set-tag", "POST", set_model_version_tag),
        ("/model-versions/delete-tag", "DELETE", delete_model_version_tag),
        ("/model-versions/transition-stage", "POST", refuse_stages),
    ]
    return [route for entry in table for route in mlflow_route(*entry)]
