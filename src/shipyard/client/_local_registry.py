"""The model-registry half of LocalStore: models, versions, aliases, and model files as blobs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection

from shipyard import _validation as v
from shipyard.artifacts import BlobStore
from shipyard.client._checks import checked_tags
from shipyard.entities import (
    DEFAULT_PROJECT,
    AliasEvent,
    ArtifactInfo,
    ModelVersion,
    RegisteredModel,
)
from shipyard.errors import InvalidArgument
from shipyard.store import aliases_db, gates, registry_db

T = TypeVar("T")
MAX_LIST = 10_000


def check_limit(limit: int) -> None:
    """A listing's ``limit``: 1 to MAX_LIST."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
        raise InvalidArgument(f"limit must be between 1 and {MAX_LIST}", field="limit")


def checked_files(files: Sequence[ArtifactInfo]) -> list[ArtifactInfo]:
    """A version's manifest: valid relative paths, sha256 digests, no path twice."""
    clean = []
    for f in files:
        v.check_artifact_path(f.path)
        if len(f.digest) != 64 or not all(c in "0123456789abcdef" for c in f.digest):
            raise InvalidArgument(f"file {f.path!r} has no valid sha256 digest", field="files")
        clean.append(ArtifactInfo(f.path, f.digest, int(f.size)))
    if len({f.path for f in clean}) != len(clean):
        raise InvalidArgument("a model version lists the same file twice", field="files")
    return clean


def checked_metrics(metrics: Mapping[str, float] | None) -> dict[str, float]:
    """A version's metrics snapshot: valid keys, real values."""
    return {
        v.check_key(k, "metric key"): v.check_metric_value(k, val)
        for k, val in (metrics or {}).items()
    }


def checked_promotion(alias: str, version: int, requires: Sequence[str]) -> list[gates.Rule]:
    """The alias, version and gate rules of ``set_model_alias``, parsed and checked."""
    v.check_alias(alias)
    v.check_version(version)
    rules = [gates.parse_rule(text) for text in requires]
    for rule in rules:
        for other in rule.aliases:
            v.check_alias(other, settable=False)
    return rules


class RegistryMixin:
    """Registry operations of the Store protocol over the metadata database and blob store.

    Mixed into LocalStore, which provides ``_write``, ``_read``, ``blobs`` and ``_now``.
    """

    if TYPE_CHECKING:

        @property
        def blobs(self) -> BlobStore: ...
        def _write(self) -> AbstractContextManager[Connection]: ...
        def _read(self, fn: Callable[[Connection], T]) -> T: ...
        def _now(self) -> int: ...

    # ------------------------------------------------------------------ blobs

    # ------------------------------------------------------------------ models

    def create_registered_model(
        self,
        name: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        owner: str = "",
        project: str = DEFAULT_PROJECT,
    ) -> RegisteredModel:
        """Create a model in ``project`` (whose roles decide who may use it on a server)."""
        v.check_model_name(name)
        v.check_project(project)
        clean = checked_tags(tags)
        with self._write() as conn:
            return registry_db.create_registered_model(
                conn,
                name,
                description=description,
                owner=owner,
                tags=clean,
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
        check_limit(limit)
        return self._read(
            lambda c: registry_db.list_registered_models(c, name_like, limit, projects)
        )

    def update_registered_model(
        self,
        name: str,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredModel:
        clean = checked_tags(tags)
        with self._write() as conn:
            return registry_db.update_registered_model(
                conn, name, description=description, tags=clean, now=self._now()
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
        """Register the next version of ``name`` (the model is created in ``project`` on first
        use).

        ``files`` must already be stored as blobs (``client._util.upload_tree``, or a run's
        artifacts).
        """
        v.check_model_name(name)
        v.check_project(project)
        clean_files = checked_files(files)
        missing = [f.path for f in clean_files if not self.blobs.exists(f.digest)]
        if missing:
            raise InvalidArgument(
                f"files {', '.join(missing[:5])} are not in the artifact store; upload them first",
                field="files",
            )
        clean_metrics = checked_metrics(metrics)
        clean_tags = checked_tags(tags)
        with self._write() as conn:
            return registry_db.create_model_version(
                conn,
                name,
                clean_files,
                flavor=flavor,
                source=source,
                run_id=run_id,
                signature=signature,
                metrics=clean_metrics,
                requirements=list(requirements),
                python_version=python_version,
                metadata=dict(metadata or {}),
                description=description,
                tags=clean_tags,
                created_by=created_by,
                now=self._now(),
                project=project,
            )

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        version = v.check_version(version)
        return self._read(lambda c: registry_db.get_model_version(c, name, version))

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        v.check_alias(alias, settable=False)
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
        version = v.check_version(version)
        clean = checked_tags(tags)
        scores = checked_metrics(metrics)
        with self._write() as conn:
            return registry_db.update_model_version(
                conn,
                name,
                version,
                description=description,
                tags=clean,
                now=self._now(),
                metrics=scores,
            )

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        version = v.check_version(version)
        with self._write() as conn:
            registry_db.delete_model_version_tag(conn, name, version, key)

    def delete_model_version(self, name: str, version: int) -> None:
        version = v.check_version(version)
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
        """Move ``alias`` to ``version`` if every rule in ``requires`` passes (or ``force``).

        The attempt is recorded in the alias history with the gate results, whatever the
        outcome; a failed gate leaves the alias where it was (outcome ``rejected``).
        """
        rules = checked_promotion(alias, version, requires)
        version = int(version)
        with self._write() as conn:
            return aliases_db.set_model_alias(
                conn,
                name,
                alias,
                version,
                rules=rules,
                force=force,
                reason=reason,
                actor=actor,
                dry_run=dry_run,
                now=self._now(),
            )

    def delete_model_alias(
        self, name: str, alias: str, *, reason: str = "", actor: str = ""
    ) -> AliasEvent:
        v.check_alias(alias)
        with self._write() as conn:
            return aliases_db.delete_model_alias(
                conn, name, alias, reason=reason, actor=actor, now=self._now()
            )

    def list_alias_events(
        self, name: str, alias: str | None = None, limit: int = 100
    ) -> list[AliasEvent]:
        if alias is not None:
            v.check_alias(alias, settable=False)
        check_limit(limit)
        return self._read(lambda c: aliases_db.alias_events(c, name, alias, limit))
