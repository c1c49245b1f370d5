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
from typing import Protocol, runtime_checkable

from shipyard.entities import (
    DEFAULT_PROJECT,
    ArtifactInfo,
    AuditEntry,
    Experiment,
    LineageEdge,
    LineageNode,
    MetricPoint,
    NewToken,
    Run,
    RunPage,
    TokenInfo,
    User,
)


@runtime_checkable
class Store(Protocol):
    """Backend operations for experiment tracking, lineage and access control."""

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

    def close(self) -> None: ...
