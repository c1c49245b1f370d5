"""Registered models, their versions, promotion gates and the alias history."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from shipyard.entities._status import AliasOutcome, as_status
from shipyard.entities._tracking import DEFAULT_PROJECT, ArtifactInfo, finite_or_text


@dataclass(frozen=True)
class RegisteredModel:
    """A named model in the registry: its versions are numbered 1, 2, 3 ... per model.

    ``latest_version`` is the highest version number in use (None before the first), and
    ``aliases`` maps each alias (``champion``) to the version number it points at. The model
    belongs to ``project``, whose roles say who may read, register and promote it.

    Attributes:
        id: The model's id.
        name: Its name, unique in its project.
        description: Free text.
        owner: Who created it.
        created_at: When it was created (milliseconds since the epoch).
        updated_at: When it last changed (milliseconds since the epoch).
        tags: Its tags.
        latest_version: The highest version number in use (None before the first).
        aliases: Each alias and the version number it points at.
        project: The project it belongs to.
    """

    id: str
    name: str
    description: str
    owner: str
    created_at: int
    updated_at: int
    tags: dict[str, str] = field(default_factory=dict)
    latest_version: int | None = None
    aliases: dict[str, int] = field(default_factory=dict)
    project: str = DEFAULT_PROJECT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegisteredModel:
        return cls(**data)


@dataclass(frozen=True)
class ModelVersion:
    """One immutable registered version of a model.

    ``files`` is the manifest of the version's artifact tree (path, sha256, size; paths are
    relative to the model folder) and ``manifest_digest`` a sha256 over it, so two versions
    with the same digest hold identical files. ``metrics`` is a snapshot of the source run's
    metrics taken at registration; ``run_id`` comes from the lineage graph (the run that
    produced the version), ``signature`` is the input/output schema as JSON, ``metadata`` the
    model folder's descriptor (flavor details). Only ``description``, ``tags`` and the aliases
    pointing at a version ever change.

    Attributes:
        id: The version's id.
        name: The registered model's name.
        version: The version number (1, 2, 3 ... per model).
        flavor: The flavor that loads it (``sklearn``, ``onnx``, ...).
        source: Where it came from (``runs:/<run_id>/model``, a folder, ...).
        run_id: The run that produced it, if any.
        created_by: Who registered it.
        created_at: When it was registered (milliseconds since the epoch).
        updated_at: When its description, tags or aliases last changed.
        manifest_digest: A sha256 over ``files``.
        description: Free text.
        signature: The input/output schema, as JSON.
        metrics: The source run's metrics at registration.
        requirements: The pinned requirements to serve it.
        python_version: The Python version it was saved with.
        metadata: The model folder's descriptor.
        tags: Its tags.
        aliases: The aliases pointing at it.
        files: The manifest of its files.
    """

    id: str
    name: str
    version: int
    flavor: str
    source: str
    run_id: str | None
    created_by: str
    created_at: int
    updated_at: int
    manifest_digest: str
    description: str = ""
    signature: dict[str, Any] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    requirements: list[str] = field(default_factory=list)
    python_version: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    files: list[ArtifactInfo] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """The reference that loads exactly this version: ``name/version``."""
        return f"{self.name}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["metrics"] = finite_or_text(self.metrics)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelVersion:
        values = dict(data)
        values["metrics"] = {k: float(v) for k, v in data.get("metrics", {}).items()}
        values["files"] = [ArtifactInfo(**f) for f in data.get("files", [])]
        return cls(**values)


@dataclass(frozen=True)
class GateResult:
    """The outcome of one promotion rule, with the values it compared in ``detail``."""

    rule: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AliasEvent:
    """One entry of a model's alias history: who moved (or tried to move) an alias, when,
    from which version to which, why, and what the promotion gates said.

    ``outcome`` is ``moved``, ``deleted`` or ``rejected`` (a gate failed, the alias stayed);
    ``forced`` marks a move that went through although a gate failed. ``id`` is 0 for a dry
    run that was not recorded.

    Attributes:
        id: The entry's number (0 for an unrecorded dry run).
        name: The registered model.
        alias: The alias.
        from_version: The version it pointed at before, or None.
        to_version: The version it points at after, or None when deleted.
        actor: Who moved it.
        reason: Why.
        outcome: ``moved``, ``deleted`` or ``rejected``.
        forced: True when it moved although a gate failed.
        created_at: When (milliseconds since the epoch).
        gates: Each promotion gate's result.
    """

    id: int
    name: str
    alias: str
    from_version: int | None
    to_version: int | None
    actor: str
    reason: str
    outcome: AliasOutcome
    forced: bool
    created_at: int
    gates: list[GateResult] = field(default_factory=list)

    def __post_init__(self) -> None:
        object.__setattr__(self, "outcome", as_status(AliasOutcome, self.outcome, field="outcome"))

    @property
    def passed(self) -> bool:
        """True when every gate passed (or there were none)."""
        return all(g.passed for g in self.gates)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AliasEvent:
        values = dict(data)
        values["gates"] = [GateResult(**g) for g in data.get("gates", [])]
        return cls(**values)


#: The kinds of feature-store definition kept in the registry.
