"""LocalStore: the Store protocol over a SQL database and a blob store, in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DataError, OperationalError

from shipyard import _validation as v
from shipyard.artifacts import BlobStore
from shipyard.client._checks import (
    artifact_files,
    artifact_targets,
    check_page_limit,
    checked_batch,
    checked_tags,
)
from shipyard.client._local_access import AccessMixin
from shipyard.client._local_data import DataStoreMixin
from shipyard.client._local_features import FeatureStoreMixin
from shipyard.client._local_monitoring import MonitoringStoreMixin
from shipyard.client._local_pipelines import PipelineStoreMixin
from shipyard.client._local_registry import RegistryMixin
from shipyard.client._paging import decode_token, encode_token
from shipyard.client._util import now_ms
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
from shipyard.errors import AlreadyExists, InvalidArgument, NotFound, ServiceUnavailable
from shipyard.store import artifact_db, get_engine, lineage_db, search_db, tracking_db

T = TypeVar("T")
__all__ = ["LocalStore", "now_ms"]
MAX_PAGE = 50_000


class LocalStore(
    AccessMixin,
    RegistryMixin,
    DataStoreMixin,
    PipelineStoreMixin,
    FeatureStoreMixin,
    MonitoringStoreMixin,
):
    """Direct access to the metadata database and the blob store.

    Used embedded (the default) and by the Shipyard server as its backend. Whoever can open
    the database may do anything: roles are enforced by the server, not here.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._blobs: BlobStore | None = None

    @staticmethod
    def _now() -> int:
        return now_ms()

    # ------------------------------------------------------------------ plumbing

    @property
    def engine(self) -> Engine:
        """The database engine, created (and migrated) on first use."""
        if self._engine is None:
            self._engine = get_engine(
                self.settings.db_url, busy_timeout_ms=self.settings.sqlite_busy_timeout_ms
            )
        return self._engine

    @property
    def blobs(self) -> BlobStore:
        """The content-addressed blob store, opened on first use."""
        if self._blobs is None:
            self._blobs = BlobStore(
                self.settings.artifacts_uri, storage_options=_storage_options(self.settings)
            )
        return self._blobs

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise ServiceUnavailable(
                f"metadata database error: {exc.orig}; check SHIPYARD_DB_URL and the server"
            ) from None
        except DataError as exc:
            raise _refused(exc) from None

    def _read(self, fn: Callable[[Connection], T]) -> T:
        try:
            with self.engine.connect().execution_options(readonly=True) as conn, conn.begin():
                return fn(conn)
        except OperationalError as exc:
            raise ServiceUnavailable(
                f"metadata database error: {exc.orig}; check SHIPYARD_DB_URL and the server"
            ) from None
        except DataError as exc:
            raise _refused(exc) from None

    def close(self) -> None:
        """Nothing to release: engines are shared per URL and closed at exit."""

    # ------------------------------------------------------------------ experiments

    def create_experiment(
        self,
        name: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        project: str = DEFAULT_PROJECT,
    ) -> Experiment:
        v.check_name(name, "experiment name")
        v.check_text(description, "description")
        v.check_project(project)
        clean = checked_tags(tags)
        with self._write() as conn:
            return tracking_db.create_experiment(conn, name, description, clean, now_ms(), project)

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
        """The experiment named ``name`` (in whichever project it is), created in ``project``
        when there is none."""
        v.check_name(name, "experiment name")
        v.check_project(project)
        found = self._read(lambda c: tracking_db.find_experiment(c, name))
        if found is not None:
            return found
        try:
            with self._write() as conn:
                found = tracking_db.find_experiment(conn, name)
                if found is not None:  # created by someone else meanwhile
                    return found
                return tracking_db.create_experiment(conn, name, "", {}, now_ms(), project)
        except AlreadyExists:  # PostgreSQL: created by a transaction that committed meanwhile
            found = self._read(lambda c: tracking_db.find_experiment(c, name))
            if found is None:
                raise
            return found

    def list_experiments(self, include_deleted: bool = False) -> list[Experiment]:
        return self._read(lambda c: tracking_db.list_experiments(c, include_deleted))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        v.check_name(new_name, "experiment name")
        with self._write() as conn:
            tracking_db.rename_experiment(conn, experiment_id, new_name, now_ms())

    def delete_experiment(self, experiment_id: str) -> None:
        with self._write() as conn:
            tracking_db.set_experiment_lifecycle(conn, experiment_id, "deleted", now_ms())

    def restore_experiment(self, experiment_id: str) -> None:
        with self._write() as conn:
            tracking_db.set_experiment_lifecycle(conn, experiment_id, "active", now_ms())

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
        v.check_text(user, "user", v.MAX_NAME_LEN)
        if start_time is not None:
            v.check_timestamp(start_time)
        clean = checked_tags(tags)
        with self._write() as conn:
            run_id = tracking_db.create_run(
                conn,
                experiment_id=experiment_id,
                name=name,
                user=user,
                start_time=start_time if start_time is not None else now_ms(),
                parent_run_id=parent_run_id,
                tags=clean,
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
        if name is not None:
            v.check_name(name, "run name")
        if end_time is not None:
            v.check_timestamp(end_time)
        with self._write() as conn:
            tracking_db.update_run(conn, run_id, status=status, end_time=end_time, name=name)

    def delete_runs(self, run_ids: Sequence[str]) -> None:
        with self._write() as conn:
            tracking_db.set_run_lifecycle(conn, list(run_ids), "deleted")

    def restore_runs(self, run_ids: Sequence[str]) -> None:
        with self._write() as conn:
            tracking_db.set_run_lifecycle(conn, list(run_ids), "active")

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
        metrics, clean_params, clean_tags = checked_batch(metrics, params, tags)
        with self._write() as conn:
            tracking_db.log_batch(conn, run_id, metrics, clean_params, clean_tags)

    def delete_tag(self, run_id: str, key: str) -> None:
        with self._write() as conn:
            tracking_db.delete_tag(conn, run_id, key)

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        return self._read(lambda c: tracking_db.metric_history(c, run_id, key))

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
        """Store a file, or every file under a folder, at ``artifact_path`` in the run's tree."""
        sources = artifact_files(local_path, artifact_path)
        self._read(lambda c: tracking_db.require_run(c, run_id, writable=True))
        files: list[ArtifactInfo] = []
        for source, target in sources:
            info = self.blobs.put_file(source)
            files.append(ArtifactInfo(target, info.digest, info.size))
        with self._write() as conn:
            tracking_db.require_run(conn, run_id, writable=True)
            artifact_db.record_artifacts(conn, run_id, files, now_ms())
        return files

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[ArtifactInfo]:
        def query(conn: Connection) -> list[ArtifactInfo]:
            tracking_db.require_run(conn, run_id)
            return artifact_db.list_artifacts(conn, run_id, prefix.strip("/"))

        return self._read(query)

    def download_artifact(self, run_id: str, artifact_path: str, dest: Path) -> Path:
        """Copy one file, or a folder of the tree, to ``dest``; every blob is verified."""
        artifact_path = v.check_artifact_path(artifact_path)
        files = self.list_artifacts(run_id, artifact_path)
        if not files:
            raise NotFound(f"run {run_id} has no artifact {artifact_path!r}", field="path")
        dest = Path(dest)
        if len(files) == 1 and files[0].path == artifact_path:
            return self.blobs.get_file(files[0].digest, dest)
        for info, target in artifact_targets(files, artifact_path, dest):
            self.blobs.get_file(info.digest, target)
        return dest

    # ------------------------------------------------------------------ lineage

    def add_lineage_edges(self, edges: Sequence[LineageEdge]) -> None:
        """Record lineage edges (idempotent)."""
        with self._write() as conn:
            lineage_db.add_edges(conn, list(edges), now_ms())

    def get_lineage(
        self, node: LineageNode, direction: str = "up", max_depth: int | None = None
    ) -> list[LineageEdge]:
        """Edges reachable from ``node`` upstream (``up``) or downstream (``down``)."""
        return self._read(
            lambda c: lineage_db.walk(c, node, direction, max_depth)  # type: ignore[arg-type]
        )


def _refused(exc: DataError) -> InvalidArgument:
    """A value the database refused (too long for its column, out of range): the caller's
    input, so a 422 naming the reason rather than a server error."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    return InvalidArgument(f"the database refused a value: {reason}; check the input")


def _storage_options(settings: Settings) -> dict[str, Any]:
    """fsspec options for the artifact store (an S3 endpoint for MinIO-style servers)."""
    if settings.artifacts_uri.startswith("s3://") and settings.s3_endpoint_url:
        return {"client_kwargs": {"endpoint_url": settings.s3_endpoint_url}}
    return {}
