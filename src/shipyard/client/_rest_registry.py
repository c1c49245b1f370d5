"""RestStore's model registry: registered models, versions, aliases, promotion gates and the
alias history, through the server.

Model files are not sent here: they travel as blobs first (``put_blob``, streamed and
hash-checked), and a version lists them by path and sha256.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from shipyard.client._http import path_segment
from shipyard.client._registry import RegistryStore
from shipyard.client._rest_base import RestBase
from shipyard.entities import (
    DEFAULT_PROJECT,
    AliasEvent,
    ArtifactInfo,
    ModelVersion,
    RegisteredModel,
)


def _model(name: str) -> str:
    """The URL of a registered model (its name is checked: it never becomes another path)."""
    return f"/models/{quote(name, safe='')}"


def _version(name: str, version: int) -> str:
    return f"{_model(name)}/versions/{version}"


def _wire_metrics(metrics: Mapping[str, float] | None) -> dict[str, Any]:
    """Metric values for JSON: NaN and the infinities as 'nan', 'inf', '-inf'."""
    return {k: (val if math.isfinite(val) else str(val)) for k, val in (metrics or {}).items()}


class RestRegistry(RestBase, RegistryStore):
    """The registry operations of the Store protocol, answered by a Shipyard server (needs a
    viewer role on the model's project to read, editor to create and edit, maintainer to
    move aliases and delete)."""

    # ------------------------------------------------------------------ models

    def create_registered_model(
        self,
        name: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        owner: str = "",
        project: str = DEFAULT_PROJECT,
    ) -> RegisteredModel:
        body = {
            "name": name,
            "description": description,
            "tags": tags,
            "owner": owner,
            "project": project,
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
        """Only models in projects the caller may read are listed."""
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
        body = {"description": description, "tags": tags}
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
        body = {
            "files": [f.to_dict() for f in files],
            "flavor": flavor,
            "source": source,
            "run_id": run_id,
            "signature": None if signature is None else dict(signature),
            "metrics": _wire_metrics(metrics),
            "requirements": list(requirements),
            "python_version": python_version,
            "metadata": dict(metadata or {}),
            "description": description,
            "tags": tags,
            "created_by": created_by,
            "project": project,
        }
        found = self.http.send("POST", f"{_model(name)}/versions", json=body, idempotent=False)
        return ModelVersion.from_dict(found)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        return ModelVersion.from_dict(self.http.send("GET", _version(name, version)))

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
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
        body: dict[str, Any] = {"description": description, "tags": tags}
        if metrics:
            body["metrics"] = _wire_metrics(metrics)
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
        """With authentication on, the server records the caller as the actor."""
        body = {
            "version": version,
            "requires": list(requires),
            "force": bool(force),
            "reason": reason,
            "actor": actor,
            "dry_run": bool(dry_run),
        }
        found = self.http.send(
            "PUT", f"{_model(name)}/aliases/{alias}", json=body, idempotent=dry_run
        )
        return AliasEvent.from_dict(found)

    def delete_model_alias(
        self, name: str, alias: str, *, reason: str = "", actor: str = ""
    ) -> AliasEvent:
        params = {"reason": reason, "actor": actor}
        found = self.http.send(
            "DELETE", f"{_model(name)}/aliases/{alias}", params=params, idempotent=False
        )
        return AliasEvent.from_dict(found)

    def list_alias_events(
        self, name: str, alias: str | None = None, limit: int = 100
    ) -> list[AliasEvent]:
        params = {"alias": alias, "limit": limit}
        found = self.http.send("GET", f"{_model(name)}/alias-events", params=params)
        return [AliasEvent.from_dict(e) for e in found["events"]]
