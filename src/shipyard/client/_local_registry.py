"""LocalStore's model registry: models, versions, aliases with their promotion gates and the
alias history, over the metadata database; a version's files are blobs already stored."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shipyard.client._local_base import LocalBase
from shipyard.client._registry import RegistryStore
from shipyard.entities import (
    DEFAULT_PROJECT,
    AliasEvent,
    ArtifactInfo,
    ModelVersion,
    RegisteredModel,
)
from shipyard.errors import InvalidArgument
from shipyard.store import aliases_db, gates, registry_db


class LocalRegistry(LocalBase, RegistryStore):
    """Registry operations over the metadata database and blob store."""

    # ------------------------------------------------------------------ models

    def create_registered_model(
        self,
        name: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        owner: str = "",
        project: str = DEFAULT_PROJECT,
    ) -> RegisteredModel:
        with self._write() as conn:
            return registry_db.create_registered_model(
                conn,
                name,
                description=description,
                owner=owner,
                tags=tags or {},
                now=self._now(),
                project=project,
            )

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._read(lambda c: registry_db.get_registered_model(c, name))

    def list_registered_models(
        self,
        name_like: str | None = None,
        limit: int = 1000,
        projects: Sequence[str] | None = None,
    ) -> list[RegisteredModel]:
        return self._read(
            lambda c: registry_db.list_registered_models(c, name_like, limit, projects)
        )

    def update_registered_model(
        self,
        name: str,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredModel:
        with self._write() as conn:
            return registry_db.update_registered_model(
                conn, name, description=description, tags=tags or {}, now=self._now()
            )

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        with self._write() as conn:
            registry_db.delete_registered_model_tag(conn, name, key)

    def delete_registered_model(self, name: str) -> None:
        with self._write() as conn:
            registry_db.delete_registered_model(conn, name)

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
        missing = [f.path for f in files if not self.blobs.exists(f.digest)]
        if missing:
            raise InvalidArgument(
                f"files {', '.join(missing[:5])} are not in the artifact store; upload them first",
                field="files",
            )
        with self._write() as conn:
            return registry_db.create_model_version(
                conn,
                name,
                files,
                flavor=flavor,
                source=source,
                run_id=run_id,
                signature=signature,
                metrics=metrics or {},
                requirements=list(requirements),
                python_version=python_version,
                metadata=dict(metadata or {}),
                description=description,
                tags=tags or {},
                created_by=created_by,
                now=self._now(),
                project=project,
            )

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        return self._read(lambda c: registry_db.get_model_version(c, name, version))

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self._read(lambda c: registry_db.get_model_version_by_alias(c, name, alias))

    def get_model_version_by_id(self, version_id: str) -> ModelVersion:
        return self._read(lambda c: registry_db.get_model_version_by_id(c, version_id))

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        return self._read(lambda c: registry_db.list_model_versions(c, name))

    def update_model_version(
        self,
        name: str,
        version: int,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        metrics: Mapping[str, float] | None = None,
    ) -> ModelVersion:
        with self._write() as conn:
            return registry_db.update_model_version(
                conn,
                name,
                version,
                description=description,
                tags=tags or {},
                now=self._now(),
                metrics=metrics,
            )

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        with self._write() as conn:
            registry_db.delete_model_version_tag(conn, name, version, key)

    def delete_model_version(self, name: str, version: int) -> None:
        with self._write() as conn:
            registry_db.delete_model_version(conn, name, version)

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
        with self._write() as conn:
            return aliases_db.set_model_alias(
                conn,
                name,
                alias,
                version,
                rules=[gates.parse_rule(text) for text in requires],
                force=force,
                reason=reason,
                actor=actor,
                dry_run=dry_run,
                now=self._now(),
            )

    def delete_model_alias(
        self, name: str, alias: str, *, reason: str = "", actor: str = ""
    ) -> AliasEvent:
        with self._write() as conn:
            return aliases_db.delete_model_alias(
                conn, name, alias, reason=reason, actor=actor, now=self._now()
            )

    def list_alias_events(
        self, name: str, alias: str | None = None, limit: int = 100
    ) -> list[AliasEvent]:
        return self._read(lambda c: aliases_db.alias_events(c, name, alias, limit))
