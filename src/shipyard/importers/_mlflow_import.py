"""``import_mlflow``: bring an MLflow store (a SQLite tracking database, an ``mlruns`` file
store or a live tracking server) into a Shipyard store, idempotently, and check what arrived.

Each kind of store is one reader behind :class:`~shipyard.importers._mlflow_records.Source`;
everything here (the writes, the idempotence, the check) is the same for all of them.

What is carried over: experiments (with their tags and deleted state), runs (name, user,
times, status, params, tags, every metric point, every artifact file, nesting, deleted
state), MLflow 3 logged models (as child runs tagged :data:`LOGGED_MODEL_TAG`, the same form
the server's MLflow API gives them), registered models with their tags, versions (flavor
``mlflow``: the files of the MLflow model folder) and aliases.

Every record made carries the MLflow id it came from in a tag (``mlflow.import.*``): a second
import finds them and adds nothing. At the end every imported run is read back and compared
with the source: params, the number of points of every metric, and the sha256 of every
artifact file; the summary lists any difference.

MLflow allows ``/`` in metric, param and tag keys, Shipyard does not (keys become path
parts): such keys are imported with ``.`` in its place, and the summary counts them.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.client import Store
from shipyard.entities import DEFAULT_PROJECT, ArtifactInfo, MetricPoint
from shipyard.errors import NotFound, ShipyardError
from shipyard.importers._mlflow_files import FileStoreSource
from shipyard.importers._mlflow_http import HttpSource
from shipyard.importers._mlflow_records import (
    MetricRow,
    MlflowLoggedModel,
    MlflowModel,
    MlflowRun,
    Source,
)
from shipyard.importers._mlflow_sqlite import SqliteSource

#: The run tag marking a run that holds an MLflow logged model (its value: the model type).
LOGGED_MODEL_TAG = "shipyard.mlflow_logged_model"
#: The flavor of a version that is an MLflow model folder.
MLFLOW_FLAVOR = "mlflow"
RUN_TAG = "mlflow.import.run_id"
MODEL_TAG = "mlflow.import.model_id"
VERSION_TAG = "mlflow.import.version"
EXPERIMENT_TAG = "mlflow.import.experiment_id"
_BATCH = 10_000
_DROPPED_TAGS = ("mlflow.runName", "mlflow.parentRunId")

#: (phase, done, total): called as the import advances, for a progress bar.
Progress = Callable[[str, int, int], None]


@dataclass
class ImportSummary:
    """What an import did, and whether the check after it found every record intact.

    Attributes:
        experiments: Experiments created.
        runs: Runs imported.
        runs_skipped: Runs already imported by an earlier import (found by their MLflow id).
        metric_points: Metric points imported, every step of every history.
        params: Params imported.
        artifacts: Artifact files imported.
        artifact_bytes: Their total size.
        logged_models: MLflow 3 logged models imported (as child runs).
        versions: Registered model versions imported.
        versions_skipped: Versions already imported earlier.
        aliases: Aliases set.
        renamed_keys: Keys with ``/`` that Shipyard does not allow, imported with ``.``.
        checked_runs: Runs re-read after the import and compared with their source.
        mismatches: What that comparison found different (empty when all matched).
    """

    experiments: int = 0
    runs: int = 0
    runs_skipped: int = 0
    metric_points: int = 0
    params: int = 0
    artifacts: int = 0
    artifact_bytes: int = 0
    logged_models: int = 0
    versions: int = 0
    versions_skipped: int = 0
    aliases: int = 0
    renamed_keys: set[str] = field(default_factory=set)
    checked_runs: int = 0
    mismatches: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        """True when every imported run matched its source."""
        return not self.mismatches


def _key(key: str, summary: ImportSummary) -> str:
    if "/" in key or "\\" in key:
        summary.renamed_keys.add(key)
        return key.replace("/", ".").replace("\\", ".")
    return key


def _keys(items: dict[str, str], summary: ImportSummary) -> dict[str, str]:
    return {_key(k, summary): v for k, v in items.items()}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class _Importer:
    def __init__(
        self, store: Store, source: Source, project: str, progress: Progress | None
    ) -> None:
        self.store = store
        self.source = source
        self.project = project
        self.progress = progress or (lambda phase, done, total: None)
        self.summary = ImportSummary()
        self.experiments: dict[str, str] = {}  # MLflow id -> Shipyard id
        self.runs: dict[str, str] = {}  # MLflow run id -> Shipyard run id (all imported)
        self.models: dict[str, str] = {}  # MLflow logged model id -> Shipyard run id
        self.hashes: dict[str, dict[str, str]] = {}  # Shipyard run -> path -> sha256

    # ------------------------------------------------------------------ experiments

    def import_experiments(self) -> list[str]:
        """Experiments, created or found by name; the MLflow ids of deleted ones."""
        deleted = []
        for exp in self.source.experiments():
            try:
                found = self.store.get_experiment_by_name(exp.name)
            except NotFound:
                tags = {k: v for k, v in exp.tags.items() if k != "mlflow.note.content"}
                tags = {**_keys(tags, self.summary), EXPERIMENT_TAG: exp.id}
                found = self.store.create_experiment(
                    exp.name, exp.tags.get("mlflow.note.content", ""), tags, self.project
                )
                self.summary.experiments += 1
            self.experiments[exp.id] = found.id
            if exp.deleted:
                deleted.append(found.id)
            self._known_runs(found.id)
        return deleted

    def _known_runs(self, experiment: str) -> None:
        """Runs an earlier import made in this experiment (found by their import tags)."""
        token = None
        while True:
            page = self.store.search_runs(
                [experiment],
                f"tags.`{RUN_TAG}` is not null or tags.`{MODEL_TAG}` is not null",
                None,
                10_000,
                token,
                include_deleted=True,
            )
            for run in page.runs:
                if RUN_TAG in run.tags:
                    self.runs[run.tags[RUN_TAG]] = run.id
                if MODEL_TAG in run.tags:
                    self.models[run.tags[MODEL_TAG]] = run.id
            token = page.next_page_token
            if not token:
                return

    # ------------------------------------------------------------------ runs

    def import_runs(self, found: list[MlflowRun]) -> None:
        runs = _parents_first(found)
        for done, run in enumerate(runs, 1):
            if run.id in self.runs:
                self.summary.runs_skipped += 1
            else:
                self._import_run(run)
            self.progress("runs", done, len(runs))

    def _import_run(self, run: MlflowRun) -> None:
        parent = run.tags.get("mlflow.parentRunId")
        tags = {k: v for k, v in run.tags.items() if k not in _DROPPED_TAGS}
        made = self.store.create_run(
            self.experiments[run.experiment_id],
            run.name or f"run-{run.id[:8]}",
            user=run.user,
            start_time=run.start_time,
            parent_run_id=self.runs.get(parent) if parent else None,
            tags={**_keys(tags, self.summary), RUN_TAG: run.id},
        )
        self.runs[run.id] = made.id
        params = _keys(run.params, self.summary)
        points = self._points(self.source.metrics(run.id))
        self.store.log_batch(made.id, points[:_BATCH], params)
        for start in range(_BATCH, len(points), _BATCH):
            self.store.log_batch(made.id, points[start : start + _BATCH])
        self.summary.params += len(params)
        self.summary.metric_points += len(points)
        self._artifacts(made.id, self.source.run_files(run))
        self.store.update_run(made.id, status=run.status, end_time=run.end_time)
        if run.deleted:
            self.store.delete_runs([made.id])
        self.summary.runs += 1

    def _points(self, rows: Sequence[MetricRow]) -> list[MetricPoint]:
        return [MetricPoint(_key(r.key, self.summary), r.value, r.step, r.timestamp) for r in rows]

    def _artifacts(self, run_id: str, files: Iterable[tuple[Path, str]]) -> None:
        hashes = self.hashes.setdefault(run_id, {})
        for path, relative in files:
            for info in self.store.log_artifact(run_id, path, relative):
                hashes[info.path] = _sha256(path)
                self.summary.artifacts += 1
                self.summary.artifact_bytes += info.size

    # ------------------------------------------------------------------ logged models

    def import_logged_models(self) -> None:
        found = self.source.logged_models()
        for done, model in enumerate(found, 1):
            if model.id not in self.models:
                self._import_logged_model(model)
            self.progress("logged models", done, len(found))

    def _import_logged_model(self, model: MlflowLoggedModel) -> None:
        tags = {**_keys(model.tags, self.summary), LOGGED_MODEL_TAG: model.model_type}
        made = self.store.create_run(
            self.experiments[model.experiment_id],
            model.name or "model",
            parent_run_id=self.runs.get(model.source_run_id or ""),
            tags={**tags, MODEL_TAG: model.id},
        )
        if model.params:
            self.store.log_batch(made.id, params=_keys(model.params, self.summary))
        self._artifacts(made.id, self.source.model_files(model))
        self.store.update_run(made.id, status="FINISHED")
        self.models[model.id] = made.id
        self.summary.logged_models += 1

    # ------------------------------------------------------------------ registry

    def import_models(self) -> None:
        models = self.source.models()
        for done, model in enumerate(models, 1):
            self._import_model(model)
            self.progress("registered models", done, len(models))

    def _import_model(self, model: MlflowModel) -> None:
        try:
            self.store.get_registered_model(model.name)
        except NotFound:
            self.store.create_registered_model(
                model.name, model.description, _keys(model.tags, self.summary), "", self.project
            )
        numbers: dict[int, int] = {}  # MLflow version -> Shipyard version
        existing = self.store.list_model_versions(model.name)
        for known in existing:
            if VERSION_TAG in known.tags:
                numbers[int(known.tags[VERSION_TAG])] = known.version
        for version in model.versions:
            if version.version in numbers:
                self.summary.versions_skipped += 1
                continue
            place = self._version_files(version.source, version.storage_location)
            if place is None:
                self.summary.mismatches.append(
                    f"model {model.name} version {version.version}: its files "
                    f"({version.source}) are not in the imported runs; not imported"
                )
                continue
            run_id, files = place
            model_id = (
                version.source[len("models:/") :]
                if version.source.startswith("models:/m-")
                else None
            )
            metadata: dict[str, object] = {"format": MLFLOW_FLAVOR}
            if model_id:
                metadata["mlflow_model_id"] = model_id
            made = self.store.create_model_version(
                model.name,
                files,
                flavor=MLFLOW_FLAVOR,
                source=version.source,
                run_id=self.runs.get(version.run_id or "", run_id),
                metadata=metadata,
                description=version.description,
                tags={**_keys(version.tags, self.summary), VERSION_TAG: str(version.version)},
                created_by=version.user,
                project=self.project,
            )
            numbers[version.version] = made.version
            self.summary.versions += 1
        current = self.store.get_registered_model(model.name).aliases
        for alias, number in model.aliases.items():
            target = numbers.get(number)
            if target is not None and current.get(alias) != target:
                self.store.set_model_alias(
                    model.name, alias, target, force=True, reason="imported from MLflow"
                )
                self.summary.aliases += 1

    def _version_files(self, source: str, storage: str) -> tuple[str, list[ArtifactInfo]] | None:
        """(Shipyard run, files relative to the model folder) of a version's source."""
        if source.startswith("models:/m-"):
            run_id = self.models.get(source[len("models:/") :].strip("/"))
            return (run_id, self.store.list_artifacts(run_id)) if run_id else None
        if source.startswith("runs:/"):
            mlflow_run, _, path = source[len("runs:/") :].partition("/")
            run_id = self.runs.get(mlflow_run)
            if run_id is None:
                return None
            path = path.strip("/")
            start = f"{path}/" if path else ""
            files = [
                ArtifactInfo(f.path[len(start) :], f.digest, f.size)
                for f in self.store.list_artifacts(run_id, path)
                if f.path.startswith(start)
            ]
            return (run_id, files) if files else None
        return None

    # ------------------------------------------------------------------ checks

    def verify(self, runs: Sequence[MlflowRun]) -> None:
        """Read every run of the source back from Shipyard and compare."""
        for done, run in enumerate(runs, 1):
            ident = self.runs.get(run.id)
            if ident is None:
                self.summary.mismatches.append(f"run {run.id} was not imported")
                continue
            self._check_run(run, ident)
            self.summary.checked_runs += 1
            self.progress("checking", done, len(runs))

    def _check_run(self, run: MlflowRun, ident: str) -> None:
        got = self.store.get_run(ident)
        wanted = _keys(run.params, self.summary)
        if got.params != wanted:
            self.summary.mismatches.append(f"run {run.id}: params differ")
        counts: dict[str, int] = {}
        for row in self.source.metrics(run.id):
            key = _key(row.key, self.summary)
            counts[key] = counts.get(key, 0) + 1
        for key, count in counts.items():
            stored = len(self.store.get_metric_history(ident, key))
            if stored != count:
                self.summary.mismatches.append(
                    f"run {run.id}: metric {key} has {stored} points, the source {count}"
                )
        source = self.hashes.get(ident)  # what this import read, hashed as it was stored
        if source is None:  # imported earlier: hash the source again
            source = {rel: _sha256(path) for path, rel in self.source.run_files(run)}
        stored_files = {a.path: a.digest for a in self.store.list_artifacts(ident)}
        for rel, digest in source.items():
            if stored_files.get(rel) != digest:
                self.summary.mismatches.append(f"run {run.id}: artifact {rel} differs or is gone")


def _parents_first(runs: list[MlflowRun]) -> list[MlflowRun]:
    """Runs ordered so that a parent is imported before the runs nested under it."""
    ids = {r.id for r in runs}
    placed: set[str] = set()
    ordered: list[MlflowRun] = []
    pending = list(runs)
    while pending:
        waiting = []
        for run in pending:
            parent = run.tags.get("mlflow.parentRunId")
            if parent is None or parent not in ids or parent in placed:
                ordered.append(run)
                placed.add(run.id)
            else:
                waiting.append(run)
        if len(waiting) == len(pending):  # a cycle: import the rest flat
            ordered.extend(waiting)
            break
        pending = waiting
    return ordered


def open_source(source: Path | str) -> Source:
    """The reader for an MLflow store: an ``http(s)://`` tracking server, an ``mlruns``
    folder, or a SQLite tracking database (a file or a ``sqlite:///path`` URL). Opening
    checks that it is one, before anything is written."""
    text = str(source)
    if text.startswith(("http://", "https://")):
        return HttpSource(text)
    if text.startswith("sqlite:///"):
        return SqliteSource(Path(text[len("sqlite:///") :]))
    path = Path(text[len("file://") :] if text.startswith("file://") else text).expanduser()
    if path.is_dir():
        return FileStoreSource(path)
    if not path.exists():
        raise NotFound(
            f"no MLflow store at {text}: give a tracking server URL (http://...), an mlruns "
            "folder or a SQLite tracking database",
            field="from",
        )
    return SqliteSource(path)


def import_mlflow(
    store: Store,
    source: Path | str | Source,
    *,
    project: str = DEFAULT_PROJECT,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import an MLflow store into ``store``: a live tracking server (``http(s)://...``,
    with ``MLFLOW_TRACKING_TOKEN`` sent when set), an ``mlruns`` file store folder, or a
    SQLite tracking database (``mlflow.db`` or ``sqlite:///path``).

    Args:
        store: Where to import to (embedded or a server).
        source: The MLflow store, or a reader :func:`open_source` opened (closed here).
        project: The project new experiments and registered models go to.
        progress: Called with (phase, done, total) as the import advances.

    Returns:
        What was imported and skipped, and any difference the final check found.

    Raises:
        NotFound: There is nothing at ``source``.
        InvalidArgument: ``source`` is not an MLflow store.
        ServiceUnavailable: The tracking server cannot be reached.
    """
    reader = open_source(source) if isinstance(source, (str, Path)) else source
    try:
        importer = _Importer(store, reader, project, progress)
        runs = reader.runs()  # read (and so checked) before anything is written
        deleted = importer.import_experiments()
        importer.import_runs(runs)
        importer.import_logged_models()
        importer.import_models()
        importer.verify(runs)
        for experiment in deleted:
            with contextlib.suppress(ShipyardError):  # deleted already, by an earlier import
                store.delete_experiment(experiment)
        return importer.summary
    finally:
        reader.close()
