"""Plain records that cross the Store protocol (embedded or over HTTP).

They are frozen dataclasses with only JSON-friendly fields, so the REST client and server can
turn them into JSON and back without a second schema.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "DEFAULT_PROJECT",
    "FEATURE_OBJECT_KINDS",
    "LINEAGE_NODE_KINDS",
    "PIPELINE_RUN_STATUSES",
    "ROLES",
    "RUN_STATUSES",
    "STEP_STATUSES",
    "TERMINAL_STATUSES",
    "AliasEvent",
    "ArtifactInfo",
    "AuditEntry",
    "Dataset",
    "DatasetVersion",
    "Experiment",
    "FeatureMaterialization",
    "FeatureObject",
    "GateResult",
    "LineageEdge",
    "LineageNode",
    "MetricPoint",
    "ModelVersion",
    "NewToken",
    "PipelineInfo",
    "PipelineRun",
    "RegisteredModel",
    "Run",
    "RunPage",
    "RunStatus",
    "Schedule",
    "StepRun",
    "TokenInfo",
    "User",
    "manifest_digest",
]

RunStatus = Literal["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]
RUN_STATUSES: tuple[str, ...] = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
TERMINAL_STATUSES: frozenset[str] = frozenset({"FINISHED", "FAILED", "KILLED"})


def _finite_or_text(metrics: dict[str, float]) -> dict[str, Any]:
    """Metric values for JSON: NaN and infinities as the strings ``float()`` reads back."""
    return {k: (v if math.isfinite(v) else str(v)) for k, v in metrics.items()}


#: The project experiments belong to unless another one is named.
DEFAULT_PROJECT = "default"
#: Roles on a project, weakest first; each includes the ones before it.
ROLES: tuple[str, ...] = ("viewer", "editor", "maintainer", "admin")


@dataclass(frozen=True)
class Experiment:
    """A named group of runs, in a project (whose roles say who may read and write it)."""

    id: str
    name: str
    description: str
    lifecycle: str
    created_at: int
    updated_at: int
    tags: dict[str, str] = field(default_factory=dict)
    project: str = DEFAULT_PROJECT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Experiment:
        return cls(**data)


@dataclass(frozen=True)
class MetricPoint:
    """One logged metric value. ``timestamp`` is milliseconds since the epoch."""

    key: str
    value: float
    step: int
    timestamp: int

    def to_dict(self) -> dict[str, Any]:
        value: Any = self.value
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)  # JSON has no NaN/inf; "nan"/"inf" round-trip through float()
        return {"key": self.key, "value": value, "step": self.step, "timestamp": self.timestamp}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetricPoint:
        return cls(data["key"], float(data["value"]), int(data["step"]), int(data["timestamp"]))


@dataclass(frozen=True)
class Run:
    """A run with its data: params, tags and the latest value of each metric."""

    id: str
    experiment_id: str
    name: str
    status: str
    start_time: int
    end_time: int | None
    parent_run_id: str | None
    user: str
    lifecycle: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def duration_ms(self) -> int | None:
        """End minus start time, or None while running."""
        return None if self.end_time is None else self.end_time - self.start_time

    def to_dict(self) -> dict[str, Any]:
        # Spelled out rather than asdict(), which deep-copies field by field: search pages
        # of thousands of runs are converted on every request to a server.
        return {
            "id": self.id,
            "experiment_id": self.experiment_id,
            "name": self.name,
            "status": self.status,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "parent_run_id": self.parent_run_id,
            "user": self.user,
            "lifecycle": self.lifecycle,
            "params": dict(self.params),
            "tags": dict(self.tags),
            "metrics": _finite_or_text(self.metrics),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        values = dict(data)
        values["metrics"] = {k: float(v) for k, v in data.get("metrics", {}).items()}
        return cls(**values)


@dataclass(frozen=True)
class RunPage:
    """One page of search results; pass ``next_page_token`` back for the next page."""

    runs: list[Run]
    next_page_token: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": [run.to_dict() for run in self.runs],
            "next_page_token": self.next_page_token,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunPage:
        return cls([Run.from_dict(r) for r in data["runs"]], data.get("next_page_token"))


@dataclass(frozen=True)
class ArtifactInfo:
    """A file in a run's artifact tree."""

    path: str
    digest: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArtifactInfo:
        return cls(**data)


def manifest_digest(files: Sequence[ArtifactInfo]) -> str:
    """A sha256 over a file tree's sorted (path, sha256, size) lines: two trees with the same
    digest hold identical files. Names a model version's content and its local cache folder."""
    lines = sorted(f"{f.path}\t{f.digest}\t{f.size}" for f in files)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@dataclass(frozen=True, order=True)
class LineageNode:
    """A record in the lineage graph: its kind (``run``, ``dataset_version``, ...) and id."""

    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class LineageEdge:
    """An arrow from an upstream node to a downstream one.

    ``relation`` is ``consumed`` (downstream read upstream) or ``produced`` (upstream made
    downstream).
    """

    src: LineageNode
    dst: LineageNode
    relation: str
    created_at: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "src": asdict(self.src),
            "dst": asdict(self.dst),
            "relation": self.relation,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LineageEdge:
        return cls(
            LineageNode(**data["src"]),
            LineageNode(**data["dst"]),
            data["relation"],
            int(data.get("created_at", 0)),
        )


@dataclass(frozen=True)
class User:
    """Someone who may call a Shipyard server, with a role per project (``*``: every project)."""

    name: str
    created_at: int
    roles: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> User:
        return cls(**data)


@dataclass(frozen=True)
class TokenInfo:
    """What is kept of an API token: never the token itself, only its id and metadata."""

    id: str
    user: str
    name: str
    created_at: int
    expires_at: int | None = None
    revoked_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenInfo:
        return cls(**data)


@dataclass(frozen=True)
class NewToken:
    """A token just created: ``token`` is the secret, shown this once and stored nowhere."""

    token: str
    info: TokenInfo

    def to_dict(self) -> dict[str, Any]:
        return {"token": self.token, "info": self.info.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NewToken:
        return cls(data["token"], TokenInfo.from_dict(data["info"]))


@dataclass(frozen=True)
class AuditEntry:
    """One write request a server handled: who, what (method, route, path), when, outcome."""

    id: int
    at: int
    user: str
    method: str
    route: str
    path: str
    status: int
    project: str | None = None
    client: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEntry:
        return cls(**data)


#: The kinds of record the lineage graph links.
LINEAGE_NODE_KINDS: tuple[str, ...] = (
    "dataset_version",
    "run",
    "model_version",
    "pipeline_run",
    "step_run",
    "feature_view",
    "deployment",
)


@dataclass(frozen=True)
class Dataset:
    """A named, versioned dataset."""

    name: str
    description: str
    created_at: int
    updated_at: int
    latest_version: int = 0
    version_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DatasetVersion:
    """One immutable version of a dataset, stored as Parquet in the blob store.

    ``content_hash`` is the sha256 of the canonical Parquet file (see docs/data.md), which is
    also the blob's digest: identical data registered twice is one version. ``schema`` lists
    ``{"name", "type", "nullable"}`` per column; ``profile`` maps each column to its
    statistics (type, nulls, min/max, quantiles, top values).
    """

    id: str
    dataset: str
    version: int
    content_hash: str
    size: int
    num_rows: int
    schema: list[dict[str, Any]]
    profile: dict[str, dict[str, Any]]
    source: str
    description: str
    created_at: int

    @property
    def ref(self) -> str:
        """``name@version``, the form ``shipyard.data.load`` takes."""
        return f"{self.dataset}@{self.version}"

    @property
    def columns(self) -> list[str]:
        return [c["name"] for c in self.schema]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetVersion:
        return cls(**data)


PIPELINE_RUN_STATUSES: tuple[str, ...] = ("QUEUED", "RUNNING", "FINISHED", "FAILED", "KILLED")
STEP_STATUSES: tuple[str, ...] = ("PENDING", "RUNNING", "FINISHED", "FAILED", "SKIPPED")


@dataclass(frozen=True)
class PipelineInfo:
    """A pipeline Shipyard knows: its name and the ``module:function`` that defines it."""

    name: str
    ref: str
    description: str
    created_at: int
    updated_at: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Span:
    """``duration_ms`` for records with optional start and end times."""

    start_time: int | None
    end_time: int | None

    @property
    def duration_ms(self) -> int | None:
        """End minus start time, or None until both are known."""
        if self.start_time is None or self.end_time is None:
            return None
        return self.end_time - self.start_time


@dataclass(frozen=True)
class PipelineRun(_Span):
    """One execution of a pipeline.

    ``dag`` lists the steps with their upstream steps (``[{"name", "step", "upstream"}]``);
    ``resumed_from`` names the run this one resumed; ``schedule`` and ``scheduled_for`` are
    set for runs the scheduler started.
    """

    id: str
    pipeline: str
    ref: str
    status: str
    params: dict[str, Any]
    executor: str
    dag: list[dict[str, Any]]
    created_at: int
    start_time: int | None = None
    end_time: int | None = None
    error: str = ""
    resumed_from: str | None = None
    schedule: str | None = None
    scheduled_for: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineRun:
        return cls(**data)


@dataclass(frozen=True)
class StepRun(_Span):
    """One step of a pipeline run: its state, cache key and hit flag, logs and outputs.

    ``inputs`` maps argument names to the outputs they came from; ``outputs`` lists the
    materialized values (``{"type", "hash", ...}``); ``params`` holds the plain arguments.
    """

    id: str
    pipeline_run_id: str
    name: str
    step: str
    status: str
    attempts: int = 0
    cache_key: str = ""
    cache_hit: bool = False
    start_time: int | None = None
    end_time: int | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    logs: str = ""
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRun:
        return cls(**data)


@dataclass(frozen=True)
class Schedule:
    """A cron schedule that starts a pipeline.

    ``missed`` is ``skip`` (after downtime, run only the latest due time) or ``catch_up`` (run
    every missed time, one after another); ``overlap`` is ``skip`` (drop a firing while a run
    of this schedule is still going) or ``queue`` (start it when the previous one ends).
    Times are milliseconds since the epoch; ``last_fire_at`` is the latest due time handled.
    """

    name: str
    pipeline: str
    ref: str
    cron: str
    timezone: str = "UTC"
    params: dict[str, Any] = field(default_factory=dict)
    missed: str = "skip"
    overlap: str = "skip"
    enabled: bool = True
    created_at: int = 0
    last_fire_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schedule:
        return cls(**data)


@dataclass(frozen=True)
class RegisteredModel:
    """A named model in the registry: its versions are numbered 1, 2, 3 ... per model.

    ``latest_version`` is the highest version number in use (None before the first), and
    ``aliases`` maps each alias (``champion``) to the version number it points at. The model
    belongs to ``project``, whose roles say who may read, register and promote it.
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
        data["metrics"] = _finite_or_text(self.metrics)
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
    """

    id: int
    name: str
    alias: str
    from_version: int | None
    to_version: int | None
    actor: str
    reason: str
    outcome: str
    forced: bool
    created_at: int
    gates: list[GateResult] = field(default_factory=list)

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
FEATURE_OBJECT_KINDS: tuple[str, ...] = ("entity", "feature_view", "on_demand_view", "service")


@dataclass(frozen=True)
class FeatureObject:
    """A feature-store definition as the registry keeps it: its kind (``entity``,
    ``feature_view``, ``on_demand_view``, ``service``), name, JSON spec and the spec's sha256
    (so ``plan`` can tell what changed without comparing specs field by field)."""

    kind: str
    name: str
    spec: dict[str, Any]
    digest: str = ""
    created_at: int = 0
    updated_at: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureObject:
        return cls(**data)


@dataclass(frozen=True)
class FeatureMaterialization:
    """One materialization of a feature view into the online store: the event-time window
    ``[start, end)`` in epoch milliseconds and how many entity rows were written. The largest
    ``end`` is the view's watermark, where ``materialize-incremental`` starts next."""

    view: str
    start: int
    end: int
    rows: int
    created_at: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureMaterialization:
        return cls(**data)
