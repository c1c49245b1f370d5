"""RestStore's model registry: registered models, versions, aliases, promotion gates and the
alias history, through the server.

Model files are not sent here: they travel as blobs first (``put_blob``, streamed and
hash-checked), and a version lists them by path and sha256. Every input is checked with the
same functions LocalStore uses before a request is made, so a bad name, alias or gate rule
fails the same way embedded and remote, without a round trip.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from shipyard import _validation as v
from shipyard.client._checks import checked_tags
from shipyard.client._http import path_segment
from shipyard.client._local_registry import (
    check_limit,
    checked_files,
    checked_metrics,
    checked_promotion,
)
from shipyard.entities import (
    DEFAULT_PROJECT,
    AliasEvent,
    ArtifactInfo,
    ModelVersion,
    RegisteredModel,
)
from shipyard.errors import InvalidArgument, NotFound

if TYPE_CHECKING:
    from shipyard.client._http import Http


def _model(name: str) -> str:
    """The URL of a registered model. No model can have a name that fails the name check,
    so such a name is NotFound, as embedded (and never becomes a path of another URL)."""
    try:
        v.check_model_name(name)
    except InvalidArgument:
        raise NotFound(
            f"no registered model named {name!r}; list them with `shipyard models list`",
            field="name",
        ) from None
    return f"/models/{quote(name, safe='')}"


def _version(name: str, version: int) -> str:
    number = v.check_version(version)
    return f"{_model(name)}/versions/{number}"


def _description(description: str | None, tags: Mapping[str, str] | None) -> dict[str, Any]:
    """The body of an update: a new description (None keeps the old one) and tags to set."""
    text = None if description is None else v.check_text(description, "description")
    return {"description": text, "tags": checked_tags(tags)}


def _wire_metrics(metrics: Mapping[str, float]) -> dict[str, Any]:
    """Metric values for JSON: NaN and the infinities as 'nan', 'inf', '-inf'."""
    return {k: (val if math.isfinite(val) else str(val)) for k, val in metrics.items()}


class RestRegistryMixin:
    """The registry operations of the Store protocol, answered by a Shipyard server."""

    http: Http

    # ------------------------------------------------------------------ models

    def create_registered_model(
        self,
        name: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        owner: str = "",
        project: str = DEFAULT_PROJECT,
    ) -> RegisteredModel:
        """Create a model in ``project`` (needs editor there)."""
        body = {
            "name": v.check_model_name(name),
            "description": v.check_text(description, "description"),
            "tags": checked_tags(tags),
            "owner": v.check_text(owner, "owner", v.MAX_NAME_LEN),
            "project": v.check_project(project),
        }
        found = self.http.send("POST", "/models", json=body, idempotent=False)
        return RegisteredModel.from_dict(found)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return RegisteredModel.from_dict(self.http.send("GET", _model(name)))

    def list_registered_models(
        self,
        name_like: str | None = None,
        limit: int = 1000,
        projects: Sequence[str] | None = None,
    ) -> list[RegisteredModel]:
        """Models by name (those in projects the caller may read)."""
        check_limit(limit)
        params: dict[str, Any] = {"name_like": name_like, "limit": limit}
        if projects is not None:
            params["project"] = list(projects)
        found = self.http.send("GET", "/models", params=params)
        return [RegisteredModel.from_dict(m) for m in found["models"]]

    def update_registered_model(
        self,
        name: str,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredModel:
        body = _description(description, tags)
        return RegisteredModel.from_dict(self.http.send("PATCH", _model(name), json=body))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.http.send("DELETE", f"{_model(name)}/tags/{quote(key, safe='')}")

    def delete_registered_model(self, name: str) -> None:
        self.http.send("DELETE", _model(name))

    # ------------------------------------------------------------------ versions

    def create_model_version(
        self,
        name: str,
        files: Sequence[ArtifactInfo],
        *,
        flavor: str,
        source: str = "",
        run_id: str | None = None,
        signature: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        requirements: Sequence[str] = (),
        python_version: str = "",
        metadata: Mapping[str, Any] | None = None,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        created_by: str = "",
        project: str = DEFAULT_PROJECT,
    ) -> ModelVersion:
        """Register the next version of ``name`` from files already stored as blobs (the
        model is created in ``project`` on first use). Needs editor on the model's project."""
        v.check_model_name(name)
        body = {
            "files": [f.to_dict() for f in checked_files(files)],
            "flavor": flavor,
            "source": source,
            "run_id": run_id,
            "signature": None if signature is None else dict(signature),
            "metrics": _wire_metrics(checked_metrics(metrics)),
            "requirements": list(requirements),
            "python_version": python_version,
            "metadata": dict(metadata or {}),
            "description": v.check_text(description, "description"),
            "tags": checked_tags(tags),
            "created_by": v.check_text(created_by, "created_by", v.MAX_NAME_LEN),
            "project": v.check_project(project),
        }
        found = self.http.send("POST", f"{_model(name)}/versions", json=body, idempotent=False)
        return ModelVersion.from_dict(found)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        return ModelVersion.from_dict(self.http.send("GET", _version(name, version)))

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        v.check_alias(alias, settable=False)
        found = self.http.send("GET", f"{_model(name)}/aliases/{alias}")
        return ModelVersion.from_dict(found)

    def get_model_version_by_id(self, version_id: str) -> ModelVersion:
        found = self.http.send("GET", f"/model-versions/{path_segment(version_id)}")
        return ModelVersion.from_dict(found)

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        found = self.http.send("GET", f"{_model(name)}/versions")
        return [ModelVersion.from_dict(mv) for mv in found["versions"]]

    def update_model_version(
        self,
        name: str,
        version: int,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        metrics: Mapping[str, float] | None = None,
    ) -> ModelVersion:
        body = _description(description, tags)
        if metrics:
            body["metrics"] = _wire_metrics(checked_metrics(metrics))
        found = self.http.send("PATCH", _version(name, version), json=body)
        return ModelVersion.from_dict(found)

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        self.http.send("DELETE", f"{_version(name, version)}/tags/{quote(key, safe='')}")

    def delete_model_version(self, name: str, version: int) -> None:
        self.http.send("DELETE", _version(name, version))

    # ------------------------------------------------------------------ aliases

    def set_model_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        requires: Sequence[str] = (),
        force: bool = False,
        reason: str = "",
        actor: str = "",
        dry_run: bool = False,
    ) -> AliasEvent:
        """Move ``alias`` to ``version`` if every rule in ``requires`` passes (or ``force``);
        the attempt is recorded either way (needs maintainer; with authentication on, the
        server records the caller as the actor)."""
        checked_promotion(alias, version, requires)
        body = {
            "version": int(version),
            "requires": list(requires),
            "force": bool(force),
            "reason": v.check_text(reason, "reason"),
            "actor": v.check_text(actor, "actor", v.MAX_NAME_LEN),
            "dry_run": bool(dry_run),
        }
        found = self.http.send(
            "PUT", f"{_model(name)}/aliases/{alias}", json=body, idempotent=dry_run
        )
        return AliasEvent.from_dict(found)

    def delete_model_alias(
        self, name: str, alias: str, *, reason: str = "", actor: str = ""
    ) -> AliasEvent:
        v.check_alias(alias)
        params = {
            "reason": v.check_text(reason, "reason"),
            "actor": v.check_text(actor, "actor", v.MAX_NAME_LEN),
        }
        found = self.http.send(
            "DELETE", f"{_model(name)}/aliases/{alias}", params=params, idempotent=False
        )
        return AliasEvent.from_dict(found)

    def list_alias_events(
        self, name: str, alias: str | None = None, limit: int = 100
    ) -> list[AliasEvent]:
        if alias is not None:
            v.check_alias(alias, settable=False)
        check_limit(limit)
        params = {"alias": alias, "limit": limit}
        found = self.http.send("GET", f"{_model(name)}/alias-events", params=params)
        return [AliasEvent.from_dict(e) for e in found["events"]]
