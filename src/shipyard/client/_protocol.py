"""The Store protocol: everything the SDK may ask of a backend.

Two implementations exist: :class:`~shipyard.client.LocalStore` talks to the metadata
database and blob store directly (embedded use, and the server's own backend), and a REST
store sends the same calls to a Shipyard server. The SDK, CLI and server use only this
protocol, so every feature works embedded and remote with one code path, and one conformance
test suite runs against each implementation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from shipyard.entities import (
    DEFAULT_PROJECT,
    AliasEvent,
    ArtifactInfo,
    AuditEntry,
    Dataset,
    DatasetVersion,
    Experiment,
    FeatureMaterialization,
    FeatureObject,
    LineageEdge,
    LineageNode,
    MetricPoint,
    ModelVersion,
    Monitor,
    MonitorRun,
    NewToken,
    PipelineInfo,
    PipelineRun,
    RegisteredModel,
    Run,
    RunPage,
    Schedule,
    StepRun,
    TokenInfo,
    User,
)


@runtime_checkable
class Store(Protocol):
    """Backend operations: tracking, lineage, blobs, the model registry, datasets, pipelines,
    schedules, access control and the feature-store registry."""

    # experiments
    def create_experiment(
        self,
        name: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        project: str = DEFAULT_PROJECT,
    ) -> Experiment: ...
    def get_experiment(self, experiment_id: str) -> Experiment: ...
    def get_experiment_by_name(self, name: str) -> Experiment: ...
    def get_or_create_experiment(self, name: str, project: str = DEFAULT_PROJECT) -> Experiment: ...
    def list_experiments(self, include_deleted: bool = False) -> list[Experiment]: ...
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...
    def delete_experiment(self, experiment_id: str) -> None: ...
    def restore_experiment(self, experiment_id: str) -> None: ...

    # runs
    def create_run(
        self,
        experiment_id: str,
        name: str,
        *,
        user: str = "",
        start_time: int | None = None,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Run: ...
    def get_run(self, run_id: str) -> Run: ...
    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        name: str | None = None,
    ) -> None: ...
    def delete_runs(self, run_ids: Sequence[str]) -> None: ...
    def restore_runs(self, run_ids: Sequence[str]) -> None: ...
    def child_runs(self, run_id: str) -> list[str]: ...

    # run data
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricPoint] = (),
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None: ...
    def delete_tag(self, run_id: str, key: str) -> None: ...
    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]: ...

    # search
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        limit: int = 1000,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> RunPage: ...

    # artifacts
    def log_artifact(
        self, run_id: str, local_path: Path, artifact_path: str
    ) -> list[ArtifactInfo]: ...
    def list_artifacts(self, run_id: str, prefix: str = "") -> list[ArtifactInfo]: ...
    def download_artifact(self, run_id: str, artifact_path: str, dest: Path) -> Path: ...

    # lineage
    def add_lineage_edges(self, edges: Sequence[LineageEdge]) -> None: ...
    def get_lineage(
        self, node: LineageNode, direction: str = "up", max_depth: int | None = None
    ) -> list[LineageEdge]: ...

    # registered models
    def create_registered_model(
        self,
        name: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        owner: str = "",
        project: str = DEFAULT_PROJECT,
    ) -> RegisteredModel: ...
    def get_registered_model(self, name: str) -> RegisteredModel: ...
    def list_registered_models(
        self,
        name_like: str | None = None,
        limit: int = 1000,
        projects: Sequence[str] | None = None,
    ) -> list[RegisteredModel]: ...
    def update_registered_model(
        self,
        name: str,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredModel: ...
    def delete_registered_model_tag(self, name: str, key: str) -> None: ...
    def delete_registered_model(self, name: str) -> None: ...

    # model versions
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
    ) -> ModelVersion: ...
    def get_model_version(self, name: str, version: int) -> ModelVersion: ...
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...
    def get_model_version_by_id(self, version_id: str) -> ModelVersion: ...
    def list_model_versions(self, name: str) -> list[ModelVersion]: ...
    def update_model_version(
        self,
        name: str,
        version: int,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        metrics: Mapping[str, float] | None = None,
    ) -> ModelVersion: ...
    def delete_model_version_tag(self, name: str, version: int, key: str) -> None: ...
    def delete_model_version(self, name: str, version: int) -> None: ...

    # aliases and their audit history
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
    ) -> AliasEvent: ...
    def delete_model_alias(
        self, name: str, alias: str, *, reason: str = "", actor: str = ""
    ) -> AliasEvent: ...
    def list_alias_events(
        self, name: str, alias: str | None = None, limit: int = 100
    ) -> list[AliasEvent]: ...
    # blobs (content-addressed, verified; model files and dataset versions are stored as blobs)
    def put_blob(self, local_path: Path) -> str: ...
    def fetch_blob(self, digest: str) -> Path: ...
    def download_blob(self, digest: str, dest: Path) -> Path: ...

    # datasets
    def find_dataset_version(self, name: str, content_hash: str) -> DatasetVersion | None: ...
    def create_dataset_version(
        self,
        name: str,
        local_path: Path,
        *,
        num_rows: int,
        schema: Sequence[dict[str, Any]],
        profile: dict[str, Any],
        source: str = "",
        description: str = "",
    ) -> DatasetVersion: ...
    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion: ...
    def get_dataset_version_by_id(self, version_id: str) -> DatasetVersion: ...
    def list_datasets(self) -> list[Dataset]: ...
    def list_dataset_versions(self, name: str) -> list[DatasetVersion]: ...

    # pipelines
    def register_pipeline(self, name: str, ref: str, description: str = "") -> None: ...
    def get_pipeline(self, name: str) -> PipelineInfo: ...
    def list_pipelines(self) -> list[PipelineInfo]: ...
    def create_pipeline_run(
        self, run: PipelineRun, steps: Sequence[StepRun] = ()
    ) -> tuple[PipelineRun, list[str]]: ...
    def add_step_runs(self, pipeline_run_id: str, steps: Sequence[StepRun]) -> list[str]: ...
    def get_pipeline_run(self, run_id: str) -> PipelineRun: ...
    def update_pipeline_run(self, run_id: str, **values: Any) -> None: ...
    def list_pipeline_runs(
        self,
        pipeline: str | None = None,
        statuses: Sequence[str] | None = None,
        schedule: str | None = None,
        limit: int = 50,
    ) -> list[PipelineRun]: ...
    def update_step_run(
        self, step_run_id: str, lineage: Sequence[LineageEdge] = (), **values: Any
    ) -> None: ...
    def update_step_runs(self, updates: Mapping[str, Mapping[str, Any]]) -> None: ...
    def get_step_run(self, step_run_id: str) -> StepRun: ...
    def list_step_runs(self, pipeline_run_id: str) -> list[StepRun]: ...
    def find_cached_step_run(self, cache_key: str) -> StepRun | None: ...

    # schedules
    def put_schedule(self, schedule: Schedule) -> Schedule: ...
    def get_schedule(self, name: str) -> Schedule: ...
    def list_schedules(self) -> list[Schedule]: ...
    def delete_schedule(self, name: str) -> None: ...
    def set_schedule_fired(self, name: str, last_fire_at: int) -> None: ...

    # access control: users, roles, API tokens, audit log
    def create_user(self, name: str) -> User: ...
    def list_users(self) -> list[User]: ...
    def set_role(self, user: str, project: str, role: str | None) -> None: ...
    def create_token(
        self, user: str | None = None, name: str = "", expires_at: int | None = None
    ) -> NewToken: ...
    def list_tokens(self, user: str | None = None) -> list[TokenInfo]: ...
    def revoke_token(self, token_id: str) -> None: ...
    def list_audit(
        self,
        limit: int = 100,
        before_id: int | None = None,
        user: str | None = None,
        projects: Sequence[str] | None = None,
    ) -> list[AuditEntry]: ...

    # feature store: definitions and materialization windows
    def apply_feature_objects(
        self,
        objects: Sequence[FeatureObject],
        delete: Sequence[tuple[str, str]] = (),
    ) -> list[FeatureObject]: ...
    def get_feature_object(self, kind: str, name: str) -> FeatureObject: ...
    def list_feature_objects(self, kind: str | None = None) -> list[FeatureObject]: ...
    def record_feature_materialization(
        self, view: str, start: int, end: int, rows: int
    ) -> FeatureMaterialization: ...
    def list_feature_materializations(
        self, view: str, limit: int = 100
    ) -> list[FeatureMaterialization]: ...

    # monitoring: monitors and their run history
    def put_monitor(self, monitor: Monitor) -> Monitor: ...
    def get_monitor(self, name: str) -> Monitor: ...
    def list_monitors(self) -> list[Monitor]: ...
    def delete_monitor(self, name: str) -> None: ...
    def add_monitor_run(self, run: MonitorRun) -> MonitorRun: ...
    def list_monitor_runs(self, name: str, limit: int = 100) -> list[MonitorRun]: ...

    def close(self) -> None: ...
