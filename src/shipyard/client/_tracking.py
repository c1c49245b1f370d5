"""The tracking slice of the Store protocol: experiments, runs, run data, search and run
artifacts, with the input checks of each method."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from shipyard import _validation as v
from shipyard.client._checking import checks
from shipyard.client._checks import (
    checked_tags,
    existing_path,
    name_of,
    optional,
    page_limit,
    text_of,
)
from shipyard.client._util import walk_files
from shipyard.entities import (
    DEFAULT_PROJECT,
    ArtifactInfo,
    Experiment,
    MetricPoint,
    MetricSample,
    Run,
    RunPage,
)
from shipyard.errors import InvalidArgument, NotFound

#: The largest page ``search_runs`` returns.
MAX_PAGE = 50_000
#: The most points ``sampled_metric_history`` returns (a screen is a few thousand pixels wide).
MAX_SAMPLED_POINTS = 20_000
#: The x axes a sampled history is bucketed on.
HISTORY_AXES = ("step", "time")
_INT64 = 2**63 - 1
_valid_keys: set[str] = set()


def checked_metric(m: MetricPoint) -> MetricPoint:
    """A metric point with a valid key, a real value, a 64-bit step and a timestamp.

    The common case (a float value, int step and timestamp, a key seen before) is checked
    with a few type tests and returns the point itself: batches of thousands of points are
    checked on every call, embedded and on the server.
    """
    if (
        type(m.value) is float
        and type(m.step) is int
        and type(m.timestamp) is int
        and -_INT64 <= m.step <= _INT64
        and 0 <= m.timestamp <= _INT64
        and m.key in _valid_keys
    ):
        return m
    v.check_key(m.key, "metric key")
    if len(_valid_keys) < 100_000:
        _valid_keys.add(m.key)
    return MetricPoint(
        m.key,
        v.check_metric_value(m.key, m.value),
        v.check_step(m.step),
        v.check_timestamp(m.timestamp),
    )


def checked_metrics(metrics: Sequence[MetricPoint]) -> list[MetricPoint]:
    """Every point of a batch, checked."""
    return [checked_metric(m) for m in metrics]


def checked_max_points(max_points: object) -> int:
    """A sampled history's size: an integer from 2 to ``MAX_SAMPLED_POINTS``."""
    if isinstance(max_points, bool) or not isinstance(max_points, int):
        raise InvalidArgument(
            f"max_points must be an integer, got {max_points!r}", field="max_points"
        )
    if not 2 <= max_points <= MAX_SAMPLED_POINTS:
        raise InvalidArgument(
            f"max_points must be from 2 to {MAX_SAMPLED_POINTS}, got {max_points}",
            field="max_points",
        )
    return max_points


def checked_axis(axis: object) -> str:
    """A sampled history's x axis: ``step`` or ``time``."""
    if axis not in HISTORY_AXES:
        raise InvalidArgument(
            f"axis must be one of {', '.join(HISTORY_AXES)}, got {axis!r}", field="axis"
        )
    return str(axis)


def checked_params(params: Mapping[str, str] | None) -> dict[str, str]:
    """Params with valid keys, as text of at most 6000 characters (None: no params)."""
    return {v.check_key(k, "param key"): v.param_text(k, val) for k, val in (params or {}).items()}


def artifact_files(local_path: Path, artifact_path: str) -> list[tuple[Path, str]]:
    """What ``log_artifact`` stores: (local file, path in the run's tree) for a file, or for
    every file below a folder.

    Every target path is checked before anything is stored. A symbolic link inside the folder
    that points outside it is refused (logging a folder never picks up files it does not
    contain); a linked folder that points inside it is skipped, since its files are logged
    where they really are.
    """
    files = []
    for source, relative in walk_files(local_path):
        target = artifact_path if not relative else f"{artifact_path}/{relative}"
        files.append((source, v.check_artifact_path(target)))
    return files


def artifact_targets(
    run_id: str, files: Sequence[ArtifactInfo], artifact_path: str, dest: Path
) -> list[tuple[ArtifactInfo, Path]]:
    """Where ``download_artifact`` writes each file it found at ``artifact_path``: ``dest``
    itself for one file, else the files' places under the folder ``dest``. All are checked
    before any is written, so a path or symbolic link that would lead outside ``dest``
    writes nothing; no file is NotFound."""
    if not files:
        raise NotFound(f"run {run_id} has no artifact {artifact_path!r}", field="path")
    dest = Path(dest)
    if len(files) == 1 and files[0].path == artifact_path:
        return [(files[0], dest)]
    targets = []
    for info in files:
        relative = info.path[len(artifact_path) :].lstrip("/")
        targets.append((info, v.safe_join(dest, relative)))
    return targets


@runtime_checkable
class TrackingStore(Protocol):
    """Experiments, runs and what runs log: metrics, params, tags and artifacts."""

    # ------------------------------------------------------------------ experiments

    @checks(
        name=name_of("experiment name"),
        description=text_of("description"),
        tags=checked_tags,
        project=v.check_project,
    )
    def create_experiment(
        self,
        name: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        project: str = DEFAULT_PROJECT,
    ) -> Experiment:
        """Create an experiment in ``project`` (AlreadyExists when the name is taken)."""
        ...

    def get_experiment(self, experiment_id: str) -> Experiment:
        """An experiment by id (NotFound when there is none)."""
        ...

    def get_experiment_by_name(self, name: str) -> Experiment:
        """An experiment by name, in whichever project it is (NotFound when there is none)."""
        ...

    @checks(name=name_of("experiment name"), project=v.check_project)
    def get_or_create_experiment(self, name: str, project: str = DEFAULT_PROJECT) -> Experiment:
        """The experiment named ``name`` (in whichever project it is), created in ``project``
        when there is none."""
        ...

    def list_experiments(self, include_deleted: bool = False) -> list[Experiment]:
        """Every experiment, by name (deleted ones too with ``include_deleted``)."""
        ...

    @checks(new_name=name_of("experiment name"))
    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Give an experiment a new name (AlreadyExists when it is taken)."""
        ...

    def delete_experiment(self, experiment_id: str) -> None:
        """Mark an experiment deleted (its runs can no longer log; restorable)."""
        ...

    def restore_experiment(self, experiment_id: str) -> None:
        """Undo ``delete_experiment``."""
        ...

    # ------------------------------------------------------------------ runs

    @checks(
        name=name_of("run name"),
        user=text_of("user", v.MAX_NAME_LEN),
        start_time=optional(v.check_timestamp),
        tags=checked_tags,
    )
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
        """Start a run in an experiment (status RUNNING), nested under ``parent_run_id`` when
        given.

        Args:
            experiment_id: The experiment the run belongs to (and, through it, its project).
            name: The run's name.
            user: Who started it.
            start_time: When it started, in milliseconds since the epoch; now when None.
            parent_run_id: The run it is nested under, if any.
            tags: The run's first tags.
        """
        ...

    def get_run(self, run_id: str) -> Run:
        """A run with its latest metrics, params and tags (NotFound when there is none)."""
        ...

    @checks(name=optional(name_of("run name")), end_time=optional(v.check_timestamp))
    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        name: str | None = None,
    ) -> None:
        """Change a run's status, end time or name (None keeps each as it is)."""
        ...

    def delete_runs(self, run_ids: Sequence[str]) -> None:
        """Mark runs, and the runs nested under them, deleted (restorable)."""
        ...

    def restore_runs(self, run_ids: Sequence[str]) -> None:
        """Undo ``delete_runs``."""
        ...

    def child_runs(self, run_id: str) -> list[str]:
        """The ids of the runs nested directly under a run."""
        ...

    # ------------------------------------------------------------------ run data

    @checks(metrics=checked_metrics, params=checked_params, tags=checked_tags)
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricPoint] = (),
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """Metrics, params and tags in one transaction: all are stored or none (a param
        logged again with another value is refused)."""
        ...

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a run's tag."""
        ...

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every point logged for a metric of a run, by step and time."""
        ...

    @checks(max_points=checked_max_points, axis=checked_axis)
    def sampled_metric_history(
        self, run_id: str, key: str, max_points: int = 2_000, axis: str = "step"
    ) -> MetricSample:
        """A metric's history reduced in the database to at most ``max_points`` (2 to
        20,000) real points, in x order: the x axis (``step`` or ``time``) is cut into equal
        buckets and each keeps its first and last point and its lowest and highest value
        (NaN is never an extreme), so a chart keeps the curve's outline and its spikes.
        Every point when there are few enough. NotFound for an unknown run."""
        ...

    def experiment_keys(self, experiment_id: str) -> dict[str, list[str]]:
        """The param, metric and tag keys used by an experiment's runs, sorted, as
        ``{"params": [...], "metrics": [...], "tags": [...]}`` (without loading any run:
        what a runs table offers as columns). NotFound for an unknown experiment."""
        ...

    # ------------------------------------------------------------------ search

    @checks(limit=page_limit(MAX_PAGE))
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        limit: int = 1000,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> RunPage:
        """Runs of the experiments matching ``filter``, in ``order_by`` order, a page at a
        time.

        Args:
            experiment_ids: The experiments to search.
            filter: The filter expression (``"metrics.auc > 0.9 and status = 'FINISHED'"``);
                every run when None.
            order_by: Sort keys such as ``"metrics.auc desc"``.
            limit: The most runs in the page (up to ``MAX_PAGE``).
            page_token: The previous page's ``next_page_token``, for the page after it.
            include_deleted: Include deleted runs.
        """
        ...

    # ------------------------------------------------------------------ artifacts

    @checks(artifact_path=v.check_artifact_path, local_path=existing_path)
    def log_artifact(self, run_id: str, local_path: Path, artifact_path: str) -> list[ArtifactInfo]:
        """Store a file, or every file under a folder, at ``artifact_path`` in the run's tree;
        returns what was stored."""
        ...

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[ArtifactInfo]:
        """The files of a run's tree (those under ``prefix``)."""
        ...

    @checks(artifact_path=v.check_artifact_path)
    def download_artifact(self, run_id: str, artifact_path: str, dest: Path) -> Path:
        """Copy one file, or a folder of the run's tree, to ``dest``; every file is verified
        against its sha256 before it is in place."""
        ...
