"""Reading an MLflow tracking database (SQLite) without MLflow: experiments, runs, params,
tags, metric histories, artifacts, logged models, registered models, versions and aliases.

The schema is MLflow's (``mlflow/store/db``, stable across 2.x and 3.x for these tables).
Artifacts are read from each run's ``artifact_uri`` and each logged model's
``artifact_location``, which must be local folders (or ``file://`` URIs): the layout of an
``mlflow server`` with ``--backend-store-uri sqlite:///...`` and a local artifact root.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

from shipyard.errors import InvalidArgument, NotFound
from shipyard.importers._mlflow_records import (
    MetricRow,
    MlflowExperiment,
    MlflowLoggedModel,
    MlflowModel,
    MlflowRun,
    MlflowVersion,
    files_under,
    local_folder,
)


class SqliteSource:
    """An MLflow SQLite tracking database, opened read-only."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise NotFound(f"no MLflow database at {path}", field="from")
        self.path = path
        self.label = str(path)
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master")}
        if not {"experiments", "runs", "metrics", "params", "tags"} <= tables:
            raise InvalidArgument(f"{path} is not an MLflow tracking database", field="from")
        self.tables = tables

    def close(self) -> None:
        self.conn.close()

    def _rows(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        with closing(self.conn.execute(sql, args)) as cursor:
            return list(cursor.fetchall())

    def experiments(self) -> list[MlflowExperiment]:
        tags: dict[str, dict[str, str]] = {}
        for key, value, exp in self._rows("SELECT key, value, experiment_id FROM experiment_tags"):
            tags.setdefault(str(exp), {})[str(key)] = str(value or "")
        return [
            MlflowExperiment(str(i), str(name), stage == "deleted", tags.get(str(i), {}))
            for i, name, stage in self._rows(
                "SELECT experiment_id, name, lifecycle_stage FROM experiments "
                "ORDER BY experiment_id"
            )
        ]

    def runs(self) -> list[MlflowRun]:
        params = self._pairs("SELECT run_uuid, key, value FROM params")
        tags = self._pairs("SELECT run_uuid, key, value FROM tags")
        found = []
        for row in self._rows(
            "SELECT run_uuid, experiment_id, name, status, start_time, end_time, user_id, "
            "lifecycle_stage, artifact_uri FROM runs ORDER BY start_time, run_uuid"
        ):
            run_id = str(row[0])
            found.append(
                MlflowRun(
                    id=run_id,
                    experiment_id=str(row[1]),
                    name=str(row[2] or ""),
                    status=str(row[3] or "FINISHED"),
                    start_time=int(str(row[4] or 0)),
                    end_time=None if row[5] is None else int(str(row[5])),
                    user=str(row[6] or ""),
                    deleted=row[7] == "deleted",
                    artifact_uri=str(row[8] or ""),
                    params=params.get(run_id, {}),
                    tags=tags.get(run_id, {}),
                )
            )
        return found

    def _pairs(self, sql: str) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        for owner, key, value in self._rows(sql):
            found.setdefault(str(owner), {})[str(key)] = "" if value is None else str(value)
        return found

    def metrics(self, run_id: str) -> list[MetricRow]:
        """Every metric point of a run, in the order it was logged (step, then time)."""
        return [
            MetricRow(str(k), math.nan if nan else float(str(v)), int(str(t)), int(str(s)))
            for k, v, t, s, nan in self._rows(
                "SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = ? "
                "ORDER BY key, step, timestamp, value",
                run_id,
            )
        ]

    def logged_models(self) -> list[MlflowLoggedModel]:
        if "logged_models" not in self.tables:
            return []
        tags = self._pairs("SELECT model_id, tag_key, tag_value FROM logged_model_tags")
        params = self._pairs("SELECT model_id, param_key, param_value FROM logged_model_params")
        return [
            MlflowLoggedModel(
                str(i),
                str(exp),
                str(name),
                str(loc),
                None if src is None else str(src),
                str(kind or ""),
                tags.get(str(i), {}),
                params.get(str(i), {}),
            )
            for i, exp, name, loc, src, kind in self._rows(
                "SELECT model_id, experiment_id, name, artifact_location, source_run_id, "
                "model_type FROM logged_models WHERE lifecycle_stage != 'deleted' "
                "ORDER BY creation_timestamp_ms, model_id"
            )
        ]

    def models(self) -> list[MlflowModel]:
        if "registered_models" not in self.tables:
            return []
        model_tags = self._pairs("SELECT name, key, value FROM registered_model_tags")
        version_tags: dict[tuple[str, int], dict[str, str]] = {}
        for name, version, key, value in self._rows(
            "SELECT name, version, key, value FROM model_version_tags"
        ):
            version_tags.setdefault((str(name), int(str(version))), {})[str(key)] = str(value)
        versions: dict[str, list[MlflowVersion]] = {}
        for row in self._rows(
            "SELECT name, version, source, run_id, description, user_id, storage_location "
            "FROM model_versions WHERE current_stage != 'Deleted_Internal' ORDER BY name, version"
        ):
            name, number = str(row[0]), int(str(row[1]))
            versions.setdefault(name, []).append(
                MlflowVersion(
                    name,
                    number,
                    str(row[2] or ""),
                    None if row[3] is None else str(row[3]),
                    str(row[4] or ""),
                    str(row[5] or ""),
                    str(row[6] or ""),
                    version_tags.get((name, number), {}),
                )
            )
        aliases: dict[str, dict[str, int]] = {}
        for alias, version, name in self._rows(
            "SELECT alias, version, name FROM registered_model_aliases"
        ):
            aliases.setdefault(str(name), {})[str(alias)] = int(str(version))
        return [
            MlflowModel(
                str(name),
                str(description or ""),
                model_tags.get(str(name), {}),
                versions.get(str(name), []),
                aliases.get(str(name), {}),
            )
            for name, description in self._rows(
                "SELECT name, description FROM registered_models ORDER BY name"
            )
        ]

    def run_files(self, run: MlflowRun) -> Iterator[tuple[Path, str]]:
        return files_under(local_folder(run.artifact_uri)) if run.artifact_uri else iter(())

    def model_files(self, model: MlflowLoggedModel) -> Iterator[tuple[Path, str]]:
        return files_under(local_folder(model.artifact_location))
