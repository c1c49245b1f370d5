"""LocalStore's tracking: experiments, runs, run data, search and artifacts over the
metadata database and the blob store (inputs arrive checked, see ``_tracking``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from sqlalchemy import Connection

from shipyard.client._local_base import LocalBase
from shipyard.client._paging import decode_token, encode_token
from shipyard.client._tracking import TrackingStore, artifact_files, artifact_targets
from shipyard.entities import (
    DEFAULT_PROJECT,
    ArtifactInfo,
    Experiment,
    Lifecycle,
    MetricPoint,
    MetricSample,
    Run,
    RunPage,
)
from shipyard.errors import AlreadyExists, NotFound
from shipyard.store import artifact_db, history_db, search_db, tracking_db


class LocalTracking(LocalBase, TrackingStore):
    """Experiments, runs, metrics, params, tags and artifacts in the database and blobs."""

    # ------------------------------------------------------------------ experiments

    def create_experiment(
        self,
        name: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        project: str = DEFAULT_PROJECT,
    ) -> Experiment:
        with self._write() as conn:
            return tracking_db.create_experiment(
                conn, name, description, tags or {}, self._now(), project
            )

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._read(lambda c: tracking_db.get_experiment(c, experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment:
        found = self._read(lambda c: tracking_db.find_experiment(c, name))
        if found is None:
            raise NotFound(
                f"no experiment named {name!r}; list them with `shipyard experiments list`",
                field="experiment",
            )
        return found

    def get_or_create_experiment(self, name: str, project: str = DEFAULT_PROJECT) -> Experiment:
        found = self._read(lambda c: tracking_db.find_experiment(c, name))
        if found is not None:
            return found
        try:
            with self._write() as conn:
                found = tracking_db.find_experiment(conn, name)
                if found is not None:  # created by someone else meanwhile
                    return found
                return tracking_db.create_experiment(conn, name, "", {}, self._now(), project)
        except AlreadyExists:  # PostgreSQL: created by a transaction that committed meanwhile
            found = self._read(lambda c: tracking_db.find_experiment(c, name))
            if found is None:
                raise
            return found

    def list_experiments(self, include_deleted: bool = False) -> list[Experiment]:
        return self._read(lambda c: tracking_db.list_experiments(c, include_deleted))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        with self._write() as conn:
            tracking_db.rename_experiment(conn, experiment_id, new_name, self._now())

    def delete_experiment(self, experiment_id: str) -> None:
        with self._write() as conn:
            tracking_db.set_experiment_lifecycle(
                conn, experiment_id, Lifecycle.DELETED, self._now()
            )

    def restore_experiment(self, experiment_id: str) -> None:
        with self._write() as conn:
            tracking_db.set_experiment_lifecycle(conn, experiment_id, Lifecycle.ACTIVE, self._now())

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
        with self._write() as conn:
            run_id = tracking_db.create_run(
                conn,
                experiment_id=experiment_id,
                name=name,
                user=user,
                start_time=start_time if start_time is not None else self._now(),
                parent_run_id=parent_run_id,
                tags=tags or {},
            )
            return tracking_db.get_run(conn, run_id)

    def get_run(self, run_id: str) -> Run:
        return self._read(lambda c: tracking_db.get_run(c, run_id))

    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        name: str | None = None,
    ) -> None:
        with self._write() as conn:
            tracking_db.update_run(conn, run_id, status=status, end_time=end_time, name=name)

    def delete_runs(self, run_ids: Sequence[str]) -> None:
        with self._write() as conn:
            tracking_db.set_run_lifecycle(conn, list(run_ids), Lifecycle.DELETED)

    def restore_runs(self, run_ids: Sequence[str]) -> None:
        with self._write() as conn:
            tracking_db.set_run_lifecycle(conn, list(run_ids), Lifecycle.ACTIVE)

    def child_runs(self, run_id: str) -> list[str]:
        return self._read(lambda c: tracking_db.child_run_ids(c, run_id))

    # ------------------------------------------------------------------ run data

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricPoint] = (),
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        with self._write() as conn:
            tracking_db.log_batch(conn, run_id, metrics, params or {}, tags or {})

    def delete_tag(self, run_id: str, key: str) -> None:
        with self._write() as conn:
            tracking_db.delete_tag(conn, run_id, key)

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        return self._read(lambda c: tracking_db.metric_history(c, run_id, key))

    def sampled_metric_history(
        self, run_id: str, key: str, max_points: int = 2_000, axis: str = "step"
    ) -> MetricSample:
        return self._read(lambda c: history_db.sampled_history(c, run_id, key, max_points, axis))

    def experiment_keys(self, experiment_id: str) -> dict[str, list[str]]:
        return self._read(lambda c: tracking_db.experiment_keys(c, experiment_id))

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
        offset = decode_token(page_token, experiment_ids, filter, order_by)

        def query(conn: Connection) -> RunPage:
            ids = search_db.search_run_ids(
                conn,
                list(experiment_ids),
                filter,
                list(order_by or []),
                limit + 1,
                offset,
                include_deleted=include_deleted,
            )
            token = None
            if len(ids) > limit:
                ids = ids[:limit]
                token = encode_token(offset + limit, experiment_ids, filter, order_by)
            return RunPage(tracking_db.load_runs(conn, ids), token)

        return self._read(query)

    # ------------------------------------------------------------------ artifacts

    def log_artifact(self, run_id: str, local_path: Path, artifact_path: str) -> list[ArtifactInfo]:
        sources = artifact_files(local_path, artifact_path)
        self._read(lambda c: tracking_db.require_run(c, run_id, writable=True))
        files: list[ArtifactInfo] = []
        for source, target in sources:
            info = self.blobs.put_file(source)
            files.append(ArtifactInfo(target, info.digest, info.size))
        with self._write() as conn:
            tracking_db.require_run(conn, run_id, writable=True)
            artifact_db.record_artifacts(conn, run_id, files, self._now())
        return files

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[ArtifactInfo]:
        def query(conn: Connection) -> list[ArtifactInfo]:
            tracking_db.require_run(conn, run_id)
            return artifact_db.list_artifacts(conn, run_id, prefix.strip("/"))

        return self._read(query)

    def download_artifact(self, run_id: str, artifact_path: str, dest: Path) -> Path:
        files = self.list_artifacts(run_id, artifact_path)
        for info, target in artifact_targets(run_id, files, artifact_path, dest):
            self.blobs.get_file(info.digest, target)
        return Path(dest)
