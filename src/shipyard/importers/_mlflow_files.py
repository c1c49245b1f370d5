"""Reading an MLflow file store (an ``mlruns`` folder) without MLflow.

The layout is MLflow's ``FileStore`` and ``FileRegistryStore``::

    mlruns/<experiment id>/meta.yaml          experiment (name, artifact_location, stage)
    mlruns/<experiment id>/tags/<key>         experiment tags, one file each
    mlruns/<experiment id>/<run id>/meta.yaml run (name, status, times, user, artifact_uri)
        params/<key>, tags/<key>              one file each (a key with '/' is a subfolder)
        metrics/<key>                         one line per point: "timestamp value step"
    mlruns/<experiment id>/models/<model id>/ MLflow 3 logged models (meta.yaml, params, tags)
    mlruns/.trash/<experiment id>/            deleted experiments, with their runs
    mlruns/models/<name>/meta.yaml            registered models, with tags/, aliases/ and
        version-<n>/meta.yaml, version-<n>/tags/

``meta.yaml`` files are read with ``yaml.safe_load`` only. Artifacts are read from each run's
``artifact_uri`` (a local folder or ``file://`` URI, as a file store writes them).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    run_status,
)

_TRASH = ".trash"
_REGISTRY = "models"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class FileStoreSource:
    """An MLflow ``mlruns`` folder, read-only."""

    def __init__(self, root: Path) -> None:
        if not root.exists():
            raise NotFound(f"no MLflow store at {root}", field="from")
        if not root.is_dir() or not self._experiment_folders(root):
            raise InvalidArgument(
                f"{root} is not an MLflow tracking store: expected an mlruns folder "
                "(experiment folders with meta.yaml) or a SQLite tracking database",
                field="from",
            )
        self.root = root
        self.label = str(root)
        self._runs: dict[str, Path] = {}  # run id -> its folder
        self._experiments = self._read_experiments()  # every meta.yaml checked on opening

    @staticmethod
    def _experiment_folders(root: Path) -> list[Path]:
        found = []
        for parent in (root, root / _TRASH):
            if parent.is_dir():
                found += [
                    p
                    for p in sorted(parent.iterdir())
                    if p.is_dir()
                    and p.name not in (_TRASH, _REGISTRY)
                    and (p / "meta.yaml").is_file()
                ]
        return found

    def close(self) -> None:
        """Nothing to release: every file is read and closed when it is needed."""

    def _meta(self, folder: Path) -> dict[str, Any]:
        import yaml

        path = folder / "meta.yaml"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise InvalidArgument(f"{path} is not readable: {exc}", field="from") from None
        if not isinstance(data, dict):
            raise InvalidArgument(f"{path} is not an MLflow meta.yaml", field="from")
        return data

    @staticmethod
    def _values(folder: Path) -> dict[str, str]:
        """The one-file-per-key values below ``folder`` (params, tags)."""
        if not folder.is_dir():
            return {}
        return {
            path.relative_to(folder).as_posix(): path.read_text(encoding="utf-8")
            for path in sorted(folder.rglob("*"))
            if path.is_file() and not path.is_symlink()
        }

    def experiments(self) -> list[MlflowExperiment]:
        return list(self._experiments)

    def _read_experiments(self) -> list[MlflowExperiment]:
        found = []
        for folder in self._experiment_folders(self.root):
            meta = self._meta(folder)
            deleted = folder.parent.name == _TRASH or meta.get("lifecycle_stage") == "deleted"
            tags = self._values(folder / "tags")
            found.append(
                MlflowExperiment(
                    _text(meta.get("experiment_id")) or folder.name,
                    _text(meta.get("name")),
                    deleted,
                    tags,
                )
            )
        return found

    def runs(self) -> list[MlflowRun]:
        found = []
        for exp_folder in self._experiment_folders(self.root):
            for folder in sorted(exp_folder.iterdir()):
                if folder.name == _REGISTRY or not (folder / "meta.yaml").is_file():
                    continue
                meta = self._meta(folder)
                run_id = _text(meta.get("run_id") or meta.get("run_uuid")) or folder.name
                self._runs[run_id] = folder
                tags = self._values(folder / "tags")
                status = meta.get("status")  # a number in files MLflow writes
                end = meta.get("end_time")
                found.append(
                    MlflowRun(
                        id=run_id,
                        experiment_id=_text(meta.get("experiment_id")) or exp_folder.name,
                        name=_text(meta.get("run_name")) or tags.get("mlflow.runName", ""),
                        status=run_status(status),
                        start_time=int(meta.get("start_time") or 0),
                        end_time=None if end is None else int(end),
                        user=_text(meta.get("user_id")),
                        deleted=meta.get("lifecycle_stage") == "deleted",
                        artifact_uri=_text(meta.get("artifact_uri")),
                        params=self._values(folder / "params"),
                        tags=tags,
                    )
                )
        found.sort(key=lambda r: (r.start_time, r.id))
        return found

    def metrics(self, run_id: str) -> list[MetricRow]:
        folder = self._runs.get(run_id)
        if folder is None:
            self.runs()
            folder = self._runs[run_id]
        rows = []
        metrics = folder / "metrics"
        for path in sorted(metrics.rglob("*")) if metrics.is_dir() else ():
            if not path.is_file() or path.is_symlink():
                continue
            key = path.relative_to(metrics).as_posix()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                rows.append(_metric_row(key, line, path, number))
        rows.sort(key=lambda r: (r.key, r.step, r.timestamp))
        return rows

    def logged_models(self) -> list[MlflowLoggedModel]:
        found = []
        for exp_folder in self._experiment_folders(self.root):
            models = exp_folder / _REGISTRY
            for folder in sorted(models.iterdir()) if models.is_dir() else ():
                if not (folder / "meta.yaml").is_file():
                    continue
                meta = self._meta(folder)
                if meta.get("lifecycle_stage") == "deleted":
                    continue
                source = meta.get("source_run_id")
                found.append(
                    MlflowLoggedModel(
                        _text(meta.get("model_id")) or folder.name,
                        _text(meta.get("experiment_id")) or exp_folder.name,
                        _text(meta.get("name")),
                        _text(meta.get("artifact_location")),
                        None if source is None else str(source),
                        _text(meta.get("model_type")),
                        self._values(folder / "tags"),
                        self._values(folder / "params"),
                    )
                )
        return found

    def models(self) -> list[MlflowModel]:
        registry = self.root / _REGISTRY
        found = []
        for folder in sorted(registry.iterdir()) if registry.is_dir() else ():
            if not (folder / "meta.yaml").is_file():
                continue
            meta = self._meta(folder)
            name = _text(meta.get("name")) or folder.name
            versions = []
            for vfolder in sorted(folder.glob("version-*")):
                if not (vfolder / "meta.yaml").is_file():
                    continue
                vmeta = self._meta(vfolder)
                if vmeta.get("current_stage") == "Deleted_Internal":
                    continue
                run_id = vmeta.get("run_id")
                versions.append(
                    MlflowVersion(
                        name,
                        int(vmeta.get("version") or vfolder.name.removeprefix("version-")),
                        _text(vmeta.get("source")),
                        None if run_id is None else str(run_id),
                        _text(vmeta.get("description")),
                        _text(vmeta.get("user_id")),
                        _text(vmeta.get("storage_location")),
                        self._values(vfolder / "tags"),
                    )
                )
            versions.sort(key=lambda v: v.version)
            aliases = {k: int(v) for k, v in self._values(folder / "aliases").items()}
            raw = meta.get("aliases")
            if isinstance(raw, dict):
                aliases.update({str(k): int(v) for k, v in raw.items()})
            found.append(
                MlflowModel(
                    name,
                    _text(meta.get("description")),
                    self._values(folder / "tags"),
                    versions,
                    aliases,
                )
            )
        return found

    def run_files(self, run: MlflowRun) -> Iterator[tuple[Path, str]]:
        return files_under(local_folder(run.artifact_uri)) if run.artifact_uri else iter(())

    def model_files(self, model: MlflowLoggedModel) -> Iterator[tuple[Path, str]]:
        return files_under(local_folder(model.artifact_location))


def _metric_row(key: str, line: str, path: Path, number: int) -> MetricRow:
    """One line of a metric file: ``timestamp value [step]``."""
    parts = line.split()
    try:
        timestamp, value = int(parts[0]), float(parts[1])
        step = int(parts[2]) if len(parts) > 2 else 0
    except (IndexError, ValueError):
        raise InvalidArgument(
            f"{path} line {number} is not 'timestamp value step': {line[:80]!r}", field="from"
        ) from None
    return MetricRow(key, math.nan if math.isnan(value) else value, timestamp, step)
