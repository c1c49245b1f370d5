"""Plain records that cross the Store protocol (embedded or over HTTP), one module per area.

They are frozen dataclasses with only JSON-friendly fields, so the REST client and server can
turn them into JSON and back without a second schema.
"""

from __future__ import annotations

from shipyard.entities._access import (
    AuditEntry,
    NewToken,
    TokenInfo,
    User,
)
from shipyard.entities._data import (
    Dataset,
    DatasetVersion,
    PipelineInfo,
    PipelineRun,
    Schedule,
    StepRun,
)
from shipyard.entities._deployments import (
    Deployment,
    DeploymentEvent,
    DeploymentEventKind,
    DeploymentStatus,
    RolloutMode,
)
from shipyard.entities._features import (
    FEATURE_OBJECT_KINDS,
    FeatureMaterialization,
    FeatureObject,
    FeatureViewFreshness,
)
from shipyard.entities._leases import Lease
from shipyard.entities._lineage import (
    LINEAGE_NODE_KINDS,
    LineageEdge,
    LineageNode,
)
from shipyard.entities._monitoring import Monitor, MonitorRun
from shipyard.entities._registry import (
    AliasEvent,
    GateResult,
    ModelVersion,
    RegisteredModel,
)
from shipyard.entities._status import (
    MONITOR_RUN_STATUSES,
    PIPELINE_RUN_STATUSES,
    RUN_STATUSES,
    STEP_STATUSES,
    TERMINAL_STATUSES,
    AliasOutcome,
    Lifecycle,
    MonitorRunStatus,
    PipelineRunStatus,
    RetrainOutcome,
    RunStatus,
    StepStatus,
    as_status,
)
from shipyard.entities._tracking import (
    DEFAULT_PROJECT,
    PACKAGE_SET_TAG,
    ROLES,
    ArtifactInfo,
    Experiment,
    MetricPoint,
    MetricSample,
    Run,
    RunPage,
    manifest_digest,
)

__all__ = [
    "DEFAULT_PROJECT",
    "FEATURE_OBJECT_KINDS",
    "LINEAGE_NODE_KINDS",
    "MONITOR_RUN_STATUSES",
    "PACKAGE_SET_TAG",
    "PIPELINE_RUN_STATUSES",
    "ROLES",
    "RUN_STATUSES",
    "STEP_STATUSES",
    "TERMINAL_STATUSES",
    "AliasEvent",
    "AliasOutcome",
    "ArtifactInfo",
    "AuditEntry",
    "Dataset",
    "DatasetVersion",
    "Deployment",
    "DeploymentEvent",
    "DeploymentEventKind",
    "DeploymentStatus",
    "Experiment",
    "FeatureMaterialization",
    "FeatureObject",
    "FeatureViewFreshness",
    "GateResult",
    "Lease",
    "Lifecycle",
    "LineageEdge",
    "LineageNode",
    "MetricPoint",
    "MetricSample",
    "ModelVersion",
    "Monitor",
    "MonitorRun",
    "MonitorRunStatus",
    "NewToken",
    "PipelineInfo",
    "PipelineRun",
    "PipelineRunStatus",
    "RegisteredModel",
    "RetrainOutcome",
    "RolloutMode",
    "Run",
    "RunPage",
    "RunStatus",
    "Schedule",
    "StepRun",
    "StepStatus",
    "TokenInfo",
    "User",
    "as_status",
    "manifest_digest",
]
