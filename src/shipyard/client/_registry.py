"""The model-registry slice of the Store protocol: registered models, versions, aliases with
their promotion gates, and the alias history, with the input checks of each method.

A version's files are not sent with it: they are stored as blobs first (``put_blob``, or a
run's artifacts), and the version lists them by path and sha256.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from shipyard import _validation as v
from shipyard.client._checking import checks
from shipyard.client._checks import (
    checked_tags,
    optional,
    page_limit,
    text_of,
)
from shipyard.entities import (
    DEFAULT_PROJECT,
    AliasEvent,
    ArtifactInfo,
    ModelVersion,
    RegisteredModel,
)
from shipyard.errors import InvalidArgument, NotFound
from shipyard.store import gates

#: The most models or alias events one listing returns.
MAX_LIST = 10_000
_HEX = frozenset("0123456789abcdef")


def known_model_name(name: str) -> str:
    """The name of a model to look up. No model can have a name that fails the name check,
    so such a name is NotFound, as a look-up of a missing model is (and it never becomes part
    of another URL)."""
    try:
        return v.check_model_name(name)
    except InvalidArgument:
        raise NotFound(
            f"no registered model named {name!r}; list them with `shipyard models list`",
            field="name",
        ) from None


def readable_alias(alias: str) -> str:
    """An alias to read through: a valid alias, or the reserved ``latest``."""
    return v.check_alias(alias, settable=False)


def checked_files(files: Sequence[ArtifactInfo]) -> list[ArtifactInfo]:
    """A version's manifest: valid relative paths, sha256 digests, no path twice."""
    clean = []
    for f in files:
        v.check_artifact_path(f.path)
        if len(f.digest) != 64 or not set(f.digest) <= _HEX:
            raise InvalidArgument(f"file {f.path!r} has no valid sha256 digest", field="files")
        clean.append(ArtifactInfo(f.path, f.digest, int(f.size)))
    if len({f.path for f in clean}) != len(clean):
        raise InvalidArgument("a model version lists the same file twice", field="files")
    return clean


def checked_scores(metrics: Mapping[str, float] | None) -> dict[str, float]:
    """A version's metrics snapshot: valid keys, real values (None: no metrics)."""
    return {
        v.check_key(k, "metric key"): v.check_metric_value(k, val)
        for k, val in (metrics or {}).items()
    }


def checked_rules(requires: Sequence[str]) -> list[str]:
    """Promotion rules (``"metrics.auc > 0.8"``) that parse, naming only readable aliases."""
    rules = [gates.parse_rule(text) for text in requires]
    for rule in rules:
        for other in rule.aliases:
            v.check_alias(other, settable=False)
    return [rule.text for rule in rules]


@runtime_checkable
class RegistryStore(Protocol):
    """Registered models, their versions, aliases and the alias history."""

    # ------------------------------------------------------------------ models

    @checks(
        name=v.check_model_name,
        description=text_of("description"),
        tags=checked_tags,
        owner=text_of("owner", v.MAX_NAME_LEN),
        project=v.check_project,
    )
    def create_registered_model(
        self,
        name: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        owner: str = "",
        project: str = DEFAULT_PROJECT,
    ) -> RegisteredModel:
        """Create a model in ``project``, whose roles decide who may use it on a server
        (AlreadyExists when the name is taken)."""
        ...

    @checks(name=known_model_name)
    def get_registered_model(self, name: str) -> RegisteredModel:
        """A model with its tags, latest version number and aliases."""
        ...

    @checks(limit=page_limit(MAX_LIST))
    def list_registered_models(
        self,
        name_like: str | None = None,
        limit: int = 1000,
        projects: Sequence[str] | None = None,
    ) -> list[RegisteredModel]:
        """Models by name: those whose name contains ``name_like`` (any case), in
        ``projects`` (every project when None), at most ``limit``."""
        ...

    @checks(description=optional(text_of("description")), tags=checked_tags, name=known_model_name)
    def update_registered_model(
        self,
        name: str,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredModel:
        """Set a new description (None keeps it) and set ``tags`` (others are kept)."""
        ...

    @checks(name=known_model_name)
    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a model's tag."""
        ...

    @checks(name=known_model_name)
    def delete_registered_model(self, name: str) -> None:
        """Delete a model with its versions, aliases and alias history."""
        ...

    # ------------------------------------------------------------------ versions

    @checks(
        name=v.check_model_name,
        files=checked_files,
        metrics=checked_scores,
        description=text_of("description"),
        tags=checked_tags,
        created_by=text_of("created_by", v.MAX_NAME_LEN),
        project=v.check_project,
    )
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
        """Register the next version of ``name`` (the model is created in ``project`` on
        first use).

        Args:
            name: The registered model.
            files: The model folder's files, stored as blobs already (``upload_tree``, or a
                run's artifacts); files that are not are refused, naming them.
            flavor: The flavor that loads the files (``sklearn``, ``onnx``, ...).
            source: Where the model came from (``runs:/<run_id>/model``, a folder, ...).
            run_id: The run that produced it, if any.
            signature: The inputs (and outputs) the model accepts.
            metrics: The metric snapshot promotion gates compare (``metrics.auc``).
            requirements: The pinned requirements to serve it.
            python_version: The Python version it was saved with.
            metadata: The flavor's manifest data, kept with the version.
            description: Free text shown with the version.
            tags: Tags of the version.
            created_by: Who registered it.
            project: The project a new model is created in; an existing one keeps its own.
        """
        ...

    @checks(version=v.check_version, name=known_model_name)
    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """Version ``version`` of a model."""
        ...

    @checks(alias=readable_alias, name=known_model_name)
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at (``latest``: the highest version)."""
        ...

    def get_model_version_by_id(self, version_id: str) -> ModelVersion:
        """A model version by its id (as lineage nodes name it)."""
        ...

    @checks(name=known_model_name)
    def list_model_versions(self, name: str) -> list[ModelVersion]:
        """A model's versions, the highest first."""
        ...

    @checks(
        description=optional(text_of("description")),
        tags=checked_tags,
        metrics=checked_scores,
        version=v.check_version,
        name=known_model_name,
    )
    def update_model_version(
        self,
        name: str,
        version: int,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        metrics: Mapping[str, float] | None = None,
    ) -> ModelVersion:
        """Set a new description (None keeps it), set ``tags`` and add ``metrics`` to the
        version's snapshot (others are kept)."""
        ...

    @checks(version=v.check_version, name=known_model_name)
    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        """Remove a version's tag."""
        ...

    @checks(version=v.check_version, name=known_model_name)
    def delete_model_version(self, name: str, version: int) -> None:
        """Delete a version (Conflict while an alias points at it)."""
        ...

    # ------------------------------------------------------------------ aliases

    @checks(
        alias=v.check_alias,
        version=v.check_version,
        requires=checked_rules,
        reason=text_of("reason"),
        actor=text_of("actor", v.MAX_NAME_LEN),
        name=known_model_name,
    )
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
        outcome (not with ``dry_run``, which changes nothing); a failed gate leaves the alias
        where it was (outcome ``rejected``).

        Args:
            name: The registered model.
            alias: The alias to move (``champion``).
            version: The version it should point at.
            requires: Promotion gates, each comparing metric snapshots
                (``metrics.auc >= champion.metrics.auc - 0.005``); all must pass.
            force: Move the alias even if a gate fails; the move is recorded as forced.
            reason: Why, recorded in the alias history.
            actor: Who, recorded in the alias history.
            dry_run: Evaluate the gates and change nothing.
        """
        ...

    @checks(
        alias=v.check_alias,
        reason=text_of("reason"),
        actor=text_of("actor", v.MAX_NAME_LEN),
        name=known_model_name,
    )
    def delete_model_alias(
        self, name: str, alias: str, *, reason: str = "", actor: str = ""
    ) -> AliasEvent:
        """Remove an alias, recording it in the alias history."""
        ...

    @checks(alias=optional(readable_alias), limit=page_limit(MAX_LIST), name=known_model_name)
    def list_alias_events(
        self, name: str, alias: str | None = None, limit: int = 100
    ) -> list[AliasEvent]:
        """A model's alias history (of one alias), the newest first."""
        ...
