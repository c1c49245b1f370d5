"""RestStore's tracking: experiments, runs, run data, search and artifacts through a server.

A metric batch is one request (never repeated after a broken connection, since it would be
stored twice); artifacts stream from and to disk and are hash-checked on both ends.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from shipyard import _validation as v
from shipyard.client._http import path_segment
from shipyard.client._rest_base import RestBase
from shipyard.client._tracking import TrackingStore, artifact_files, artifact_targets
from shipyard.entities import (
    DEFAULT_PROJECT,
    ArtifactInfo,
    Experiment,
    MetricPoint,
    MetricSample,
    Run,
    RunPage,
)


class RestTracking(RestBase, TrackingStore):
    """Experiments, runs, metrics, params, tags and artifacts, kept by the server."""

    # ------------------------------------------------------------------ experiments

    def create_experiment(
        self,
        name: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        project: str = DEFAULT_PROJECT,
    ) -> Experiment:
        body = {"name": name, "description": description, "tags": tags, "project": project}
        # A repeat after the first was stored would answer 409 for a call that worked.
        found = self.http.send("POST", "/experiments", json=body, idempotent=False)
        return Experiment.from_dict(found)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return Experiment.from_dict(
            self.http.send("GET", f"/experiments/{path_segment(experiment_id)}")
        )

    def get_experiment_by_name(self, name: str) -> Experiment:
        found = self.http.send("GET", "/experiments/by-name", params={"name": name})
        return Experiment.from_dict(found)

    def get_or_create_experiment(self, name: str, project: str = DEFAULT_PROJECT) -> Experiment:
        body = {"name": name, "project": project}
        return Experiment.from_dict(self.http.send("POST", "/experiments/get-or-create", json=body))

    def list_experiments(self, include_deleted: bool = False) -> list[Experiment]:
        params = {"include_deleted": "true" if include_deleted else "false"}
        found = self.http.send("GET", "/experiments", params=params)
        return [Experiment.from_dict(e) for e in found["experiments"]]

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
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
        body = {
            "experiment_id": experiment_id,
            "name": name,
            "user": user,
            "start_time": start_time,
            "parent_run_id": parent_run_id,
            "tags": tags,
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
        body = {"status": status, "end_time": end_time, "name": name}
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
        body: dict[str, Any] = {"metrics": [p.to_dict() for p in metrics]}
        if params:
            body["params"] = params
        if tags:
            body["tags"] = tags
        self.http.send("POST", f"/runs/{path_segment(run_id)}/batch", json=body, idempotent=False)

    def delete_tag(self, run_id: str, key: str) -> None:
        self.http.send("DELETE", f"/runs/{path_segment(run_id)}/tags/{path_segment(key)}")

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        found = self.http.send(
            "GET", f"/runs/{path_segment(run_id)}/metric-history", params={"key": key}
        )
        return [MetricPoint.from_dict(p) for p in found["metrics"]]

    def sampled_metric_history(
        self, run_id: str, key: str, max_points: int = 2_000, axis: str = "step"
    ) -> MetricSample:
        found = self.http.send(
            "GET",
            f"/runs/{path_segment(run_id)}/metrics/{path_segment(key)}/history",
            params={"max_points": max_points, "axis": axis},
        )
        values = [math.nan if x is None else float(x) for x in found["value"]]
        points = [
            MetricPoint(key, value, int(step), int(timestamp))
            for value, step, timestamp in zip(
                values, found["step"], found["timestamp"], strict=True
            )
        ]
        return MetricSample(key, str(found["axis"]), int(found["total"]), points)

    def experiment_keys(self, experiment_id: str) -> dict[str, list[str]]:
        found = self.http.send("GET", f"/experiments/{path_segment(experiment_id)}/columns")
        return {kind: list(found[kind]) for kind in ("params", "metrics", "tags")}

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
        """Every file is uploaded streaming from disk; none is sent when one is larger than
        the server accepts."""
        sources = artifact_files(local_path, artifact_path)
        self._refuse_too_large([source for source, _target in sources])
        stored: list[ArtifactInfo] = []
        for source, target in sources:
            url = f"/runs/{path_segment(run_id)}/artifacts/{quote(target)}"
            stored += [ArtifactInfo.from_dict(a) for a in self._upload(url, source)["artifacts"]]
        return stored

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[ArtifactInfo]:
        params = {"prefix": prefix} if prefix else None
        found = self.http.send("GET", f"/runs/{path_segment(run_id)}/artifacts", params=params)
        return [ArtifactInfo.from_dict(a) for a in found["artifacts"]]

    def download_artifact(self, run_id: str, artifact_path: str, dest: Path) -> Path:
        files = self.list_artifacts(run_id, artifact_path)
        for info, target in artifact_targets(run_id, files, artifact_path, dest):
            v.check_artifact_path(info.path)  # never trust a path a server sent
            url = f"/runs/{path_segment(run_id)}/artifacts/{quote(info.path)}"
            self._download(url, target, info.digest, f"artifact {info.path!r} of run {run_id}")
        return Path(dest)
