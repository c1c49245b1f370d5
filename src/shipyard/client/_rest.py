"""RestStore: the Store protocol over HTTP to a Shipyard server.

With ``SHIPYARD_TRACKING_URI=http(s)://host:port`` every SDK call and CLI command comes here
instead of to a LocalStore, and behaves the same: the same entities back, the same exceptions
on error (the server sends ``ShipyardError.to_dict()``, rebuilt here). Inputs are checked here
first with the same checks LocalStore runs, so a bad value fails before a round trip, with the
same message. A metric batch is one request; artifacts stream from and to disk in chunks and
are hash-checked on both ends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from shipyard import _validation as v
from shipyard.artifacts import sha256_file
from shipyard.client._checks import (
    artifact_files,
    artifact_targets,
    check_page_limit,
    checked_batch,
    checked_tags,
)
from shipyard.client._credentials import find_token
from shipyard.client._http import Http, path_segment
from shipyard.client._local import MAX_PAGE
from shipyard.client._rest_access import RestAccessMixin
from shipyard.client._rest_blobs import (
    DIGEST_HEADER,
    RestBlobsMixin,
    check_upload_size,
    download_verified,
    file_chunks,
)
from shipyard.client._rest_data import RestDataMixin
from shipyard.client._rest_features import RestFeaturesMixin
from shipyard.client._rest_monitoring import RestMonitoringMixin
from shipyard.client._rest_pipelines import RestPipelinesMixin
from shipyard.client._rest_registry import RestRegistryMixin
from shipyard.config import Settings
from shipyard.entities import (
    DEFAULT_PROJECT,
    ArtifactInfo,
    Experiment,
    LineageEdge,
    LineageNode,
    MetricPoint,
    Run,
    RunPage,
)
from shipyard.errors import (
    NotFound,
)


class RestStore(
    RestAccessMixin,
    RestBlobsMixin,
    RestRegistryMixin,
    RestDataMixin,
    RestPipelinesMixin,
    RestFeaturesMixin,
    RestMonitoringMixin,
):
    """The Store protocol, answered by a Shipyard server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.http = Http(settings, find_token(settings))
        self._info: dict[str, Any] | None = None

    def server_info(self) -> dict[str, Any]:
        """The server's version, whether it requires tokens, and its upload size limit."""
        if self._info is None:
            self._info = self.http.send("GET", "/info")
        return self._info

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    # ------------------------------------------------------------------ experiments

    def create_experiment(
        self,
        name: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        project: str = DEFAULT_PROJECT,
    ) -> Experiment:
        v.check_name(name, "experiment name")
        body = {
            "name": name,
            "description": v.check_text(description, "description"),
            "tags": checked_tags(tags),
            "project": v.check_project(project),
        }
        return Experiment.from_dict(self.http.send("POST", "/experiments", json=body))

    def get_experiment(self, experiment_id: str) -> Experiment:
        return Experiment.from_dict(
            self.http.send("GET", f"/experiments/{path_segment(experiment_id)}")
        )

    def get_experiment_by_name(self, name: str) -> Experiment:
        found = self.http.send("GET", "/experiments/by-name", params={"name": name})
        return Experiment.from_dict(found)

    def get_or_create_experiment(self, name: str, project: str = DEFAULT_PROJECT) -> Experiment:
        v.check_name(name, "experiment name")
        body = {"name": name, "project": v.check_project(project)}
        return Experiment.from_dict(self.http.send("POST", "/experiments/get-or-create", json=body))

    def list_experiments(self, include_deleted: bool = False) -> list[Experiment]:
        params = {"include_deleted": "true" if include_deleted else "false"}
        found = self.http.send("GET", "/experiments", params=params)
        return [Experiment.from_dict(e) for e in found["experiments"]]

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        v.check_name(new_name, "experiment name")
        self.http.send(
            "PATCH", f"/experiments/{path_segment(experiment_id)}", json={"name": new_name}
        )

    def delete_experiment(self, experiment_id: str) -> None:
        self.http.send("DELETE", f"/experiments/{path_segment(experiment_id)}")

    def restore_experiment(self, experiment_id: str) -> None:
        self.http.send("POST", f"/experiments/{path_segment(experiment_id)}/restore")

    # ------------------------------------------------------------------ runs

    def create_run(
        self,
        experiment_id: str,
        name: str,
        *,
        user: str = "",
        start_time: int | None = None,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Run:
        v.check_name(name, "run name")
        body = {
            "experiment_id": experiment_id,
            "name": name,
            "user": v.check_text(user, "user", v.MAX_NAME_LEN),
            "start_time": None if start_time is None else v.check_timestamp(start_time),
            "parent_run_id": parent_run_id,
            "tags": checked_tags(tags),
        }
        return Run.from_dict(self.http.send("POST", "/runs", json=body, idempotent=False))

    def get_run(self, run_id: str) -> Run:
        return Run.from_dict(self.http.send("GET", f"/runs/{path_segment(run_id)}"))

    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        name: str | None = None,
    ) -> None:
        if name is not None:
            v.check_name(name, "run name")
        body = {
            "status": status,
            "end_time": None if end_time is None else v.check_timestamp(end_time),
            "name": name,
        }
        self.http.send("PATCH", f"/runs/{path_segment(run_id)}", json=body)

    def delete_runs(self, run_ids: Sequence[str]) -> None:
        self.http.send("POST", "/runs/delete", json={"run_ids": list(run_ids)})

    def restore_runs(self, run_ids: Sequence[str]) -> None:
        self.http.send("POST", "/runs/restore", json={"run_ids": list(run_ids)})

    def child_runs(self, run_id: str) -> list[str]:
        return list(self.http.send("GET", f"/runs/{path_segment(run_id)}/children")["run_ids"])

    # ------------------------------------------------------------------ run data

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricPoint] = (),
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """Metrics, params and tags in one request (and one transaction on the server)."""
        points, clean_params, clean_tags = checked_batch(metrics, params, tags)
        body: dict[str, Any] = {"metrics": [p.to_dict() for p in points]}
        if clean_params:
            body["params"] = clean_params
        if clean_tags:
            body["tags"] = clean_tags
        self.http.send("POST", f"/runs/{path_segment(run_id)}/batch", json=body, idempotent=False)

    def delete_tag(self, run_id: str, key: str) -> None:
        self.http.send("DELETE", f"/runs/{path_segment(run_id)}/tags/{path_segment(key)}")

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        found = self.http.send(
            "GET", f"/runs/{path_segment(run_id)}/metric-history", params={"key": key}
        )
        return [MetricPoint.from_dict(p) for p in found["metrics"]]

    # ------------------------------------------------------------------ search

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        limit: int = 1000,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> RunPage:
        check_page_limit(limit, MAX_PAGE)
        body = {
            "experiment_ids": list(experiment_ids),
            "filter": filter,
            "order_by": list(order_by or []),
            "limit": limit,
            "page_token": page_token,
            "include_deleted": include_deleted,
        }
        return RunPage.from_dict(self.http.send("POST", "/runs/search", json=body))

    # ------------------------------------------------------------------ artifacts

    def log_artifact(self, run_id: str, local_path: Path, artifact_path: str) -> list[ArtifactInfo]:
        """Upload a file, or every file under a folder, streaming each from disk."""
        sources = artifact_files(local_path, artifact_path)
        limit = int(self.server_info()["max_upload_bytes"])
        for source, _target in sources:
            check_upload_size(source, limit)
        stored: list[ArtifactInfo] = []
        for source, target in sources:
            info = sha256_file(source)
            found = self.http.send(
                "PUT",
                f"/runs/{path_segment(run_id)}/artifacts/{quote(target)}",
                content=lambda source=source: file_chunks(source),  # type: ignore[misc]
                headers={DIGEST_HEADER: info.digest, "Content-Length": str(info.size)},
            )
            stored += [ArtifactInfo.from_dict(a) for a in found["artifacts"]]
        return stored

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[ArtifactInfo]:
        params = {"prefix": prefix} if prefix else None
        found = self.http.send("GET", f"/runs/{path_segment(run_id)}/artifacts", params=params)
        return [ArtifactInfo.from_dict(a) for a in found["artifacts"]]

    def download_artifact(self, run_id: str, artifact_path: str, dest: Path) -> Path:
        """Download one file, or a folder of the tree, to ``dest``; every file is verified
        against its sha256 before it is moved into place."""
        artifact_path = v.check_artifact_path(artifact_path)
        files = self.list_artifacts(run_id, artifact_path)
        if not files:
            raise NotFound(f"run {run_id} has no artifact {artifact_path!r}", field="path")
        dest = Path(dest)
        if len(files) == 1 and files[0].path == artifact_path:
            return self._fetch(run_id, files[0], dest)
        for info, target in artifact_targets(files, artifact_path, dest):
            self._fetch(run_id, info, target)
        return dest

    def _fetch(self, run_id: str, info: ArtifactInfo, dest: Path) -> Path:
        v.check_artifact_path(info.path)  # never trust a path a server sent
        url = f"/runs/{path_segment(run_id)}/artifacts/{quote(info.path)}"
        return download_verified(
            self.http, url, dest, info.digest, f"artifact {info.path!r} of run {run_id}"
        )

    # ------------------------------------------------------------------ lineage

    def add_lineage_edges(self, edges: Sequence[LineageEdge]) -> None:
        """Record lineage edges (idempotent)."""
        self.http.send("POST", "/lineage/edges", json={"edges": [e.to_dict() for e in edges]})

    def get_lineage(
        self, node: LineageNode, direction: str = "up", max_depth: int | None = None
    ) -> list[LineageEdge]:
        """Edges reachable from ``node`` upstream (``up``) or downstream (``down``)."""
        params = {"kind": node.kind, "id": node.id, "direction": direction, "max_depth": max_depth}
        found = self.http.send("GET", "/lineage", params=params)
        return [LineageEdge.from_dict(e) for e in found["edges"]]
