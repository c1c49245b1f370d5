"""What an MLflow importer reads, whatever the source: the records (experiments, runs,
logged models, registered models and versions, metric points) and the :class:`Source`
protocol each reader implements (a SQLite tracking database, an ``mlruns`` file store, a
live tracking server), so ``import_mlflow`` has one write side for all of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from shipyard.errors import InvalidArgument

#: MLflow's run statuses by the numbers its file store writes.
RUN_STATUSES = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}


def run_status(value: object) -> str:
    """A run status from MLflow's name for it or its number (``FINISHED`` when absent)."""
    if isinstance(value, int):
        return RUN_STATUSES.get(value, "FINISHED")
    return "FINISHED" if value is None or value == "" else str(value)


@dataclass(frozen=True)
class MlflowExperiment:
    id: str
    name: str
    deleted: bool
    tags: dict[str, str]


@dataclass(frozen=True)
class MlflowRun:
    id: str
    experiment_id: str
    name: str
    status: str
    start_time: int
    end_time: int | None
    user: str
    deleted: bool
    artifact_uri: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MlflowLoggedModel:
    id: str
    experiment_id: str
    name: str
    artifact_location: str
    source_run_id: str | None
    model_type: str
    tags: dict[str, str]
    params: dict[str, str]


@dataclass(frozen=True)
class MlflowVersion:
    name: str
    version: int
    source: str
    run_id: str | None
    description: str
    user: str
    storage_location: str
    tags: dict[str, str]


@dataclass(frozen=True)
class MlflowModel:
    name: str
    description: str
    tags: dict[str, str]
    versions: list[MlflowVersion]
    aliases: dict[str, int]


@dataclass(frozen=True)
class MetricRow:
    key: str
    value: float
    timestamp: int
    step: int


class Source(Protocol):
    """One MLflow store, read-only. ``run_files`` and ``model_files`` yield (a local file,
    its path relative to the artifact root) for every artifact file; a file is only valid
    until the next one is asked for (a remote reader downloads each into a temporary
    file)."""

    label: str

    def experiments(self) -> list[MlflowExperiment]: ...
    def runs(self) -> list[MlflowRun]: ...
    def metrics(self, run_id: str) -> list[MetricRow]:
        """Every metric point of a run, in the order it was logged (key, step, then time)."""
        ...

    def logged_models(self) -> list[MlflowLoggedModel]: ...
    def models(self) -> list[MlflowModel]: ...
    def run_files(self, run: MlflowRun) -> Iterator[tuple[Path, str]]: ...
    def model_files(self, model: MlflowLoggedModel) -> Iterator[tuple[Path, str]]: ...
    def close(self) -> None: ...


def local_folder(uri: str) -> Path:
    """The local folder an artifact URI names (``/path`` or ``file:///path``)."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path))
    raise InvalidArgument(
        f"artifacts at {uri!r} are not in a local folder; copy them locally first "
        "(Shipyard's importer reads file:// artifact roots)",
        field="artifact_uri",
    )


def files_under(folder: Path) -> Iterator[tuple[Path, str]]:
    """(file, path relative to ``folder``) of every file below a local artifact folder."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path, path.relative_to(folder).as_posix()
