"""Which project owns a record: one place that knows it for every object kind and every
lineage node kind, and which projects reference a blob.

Datasets, pipelines, pipeline runs, schedules, feature definitions, monitors, experiments
and registered models carry a ``project`` column; the other records belong to the project
of the record they hang off (a run to its experiment, a dataset version to its dataset, a
model version or alias event to its model, a step run to its pipeline run, a monitor run to
its monitor); a deployment belongs to the project of the model it serves. A node kind with
no table has no owner: only a caller with a role on every project (``*``) may see or link
it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Select, String, and_, cast, exists, literal, select

from shipyard.entities import FEATURE_OBJECT_KINDS, LineageNode
from shipyard.errors import InvalidArgument, NotFound
from shipyard.store._models.datasets import DATASET_VERSIONS, DATASETS
from shipyard.store._models.deployments import DEPLOYMENTS
from shipyard.store._models.features import FEATURE_DEFINITIONS
from shipyard.store._models.monitoring import MONITOR_RUNS, MONITORS
from shipyard.store._models.pipelines import PIPELINE_RUNS, PIPELINES, SCHEDULES, STEP_RUNS
from shipyard.store._models.registry import (
    MODEL_ALIAS_EVENTS,
    MODEL_VERSION_FILES,
    MODEL_VERSIONS,
    REGISTERED_MODELS,
)
from shipyard.store._models.tracking import (
    EXPERIMENTS,
    PACKAGE_SET_ROWS,
    RUN_ARTIFACTS,
    RUN_TAGS,
    RUNS,
)
from shipyard.store._sql import chunks, in_projects

#: Every kind ``project_of`` resolves (lineage node kinds, object kinds, feature kinds).
OWNED_KINDS: tuple[str, ...] = (
    "experiment",
    "run",
    "model",
    "model_version",
    "alias_event",
    "dataset",
    "dataset_version",
    "pipeline",
    "pipeline_run",
    "step_run",
    "schedule",
    "monitor",
    "monitor_run",
    "deployment",
    *FEATURE_OBJECT_KINDS,
)

#: The kinds named by an id, and the field a NotFound for one names.
_NAMED_BY_ID = {
    "experiment": "experiment_id",
    "run": "run_id",
    "model_version": "version_id",
    "alias_event": "id",
    "dataset_version": "id",
    "pipeline_run": "run_id",
    "step_run": "step_run_id",
    "monitor_run": "id",
    "deployment": "deployment",
}


def _owners(kind: str) -> tuple[Any, Select[Any]]:
    """The key column of ``kind`` and a query of (key, project) over it."""
    if kind in FEATURE_OBJECT_KINDS:
        t = FEATURE_DEFINITIONS
        return t.c.name, select(t.c.name, t.c.project).where(t.c.kind == kind)
    simple = {
        "experiment": (EXPERIMENTS, EXPERIMENTS.c.id),
        "model": (REGISTERED_MODELS, REGISTERED_MODELS.c.name),
        "dataset": (DATASETS, DATASETS.c.name),
        "pipeline": (PIPELINES, PIPELINES.c.name),
        "pipeline_run": (PIPELINE_RUNS, PIPELINE_RUNS.c.id),
        "schedule": (SCHEDULES, SCHEDULES.c.name),
        "monitor": (MONITORS, MONITORS.c.name),
        "deployment": (DEPLOYMENTS, DEPLOYMENTS.c.id),
    }
    if kind in simple:
        table, key = simple[kind]
        return key, select(key, table.c.project)
    joined: dict[str, tuple[Any, Any]] = {
        "run": (RUNS.c.id, RUNS.join(EXPERIMENTS, RUNS.c.experiment_id == EXPERIMENTS.c.id)),
        "model_version": (
            MODEL_VERSIONS.c.id,
            MODEL_VERSIONS.join(
                REGISTERED_MODELS, MODEL_VERSIONS.c.model_id == REGISTERED_MODELS.c.id
            ),
        ),
        "alias_event": (
            cast(MODEL_ALIAS_EVENTS.c.id, String),
            MODEL_ALIAS_EVENTS.join(
                REGISTERED_MODELS, MODEL_ALIAS_EVENTS.c.model_id == REGISTERED_MODELS.c.id
            ),
        ),
        "dataset_version": (
            DATASET_VERSIONS.c.id,
            DATASET_VERSIONS.join(DATASETS, DATASET_VERSIONS.c.dataset == DATASETS.c.name),
        ),
        "step_run": (
            STEP_RUNS.c.id,
            STEP_RUNS.join(PIPELINE_RUNS, STEP_RUNS.c.pipeline_run_id == PIPELINE_RUNS.c.id),
        ),
        "monitor_run": (
            MONITOR_RUNS.c.id,
            MONITOR_RUNS.join(MONITORS, MONITOR_RUNS.c.monitor == MONITORS.c.name),
        ),
    }
    if kind in joined:
        key, source = joined[kind]
        project = source.c[_project_column(kind)]
        return key, select(key, project).select_from(source)
    raise InvalidArgument(
        f"unknown object kind {kind!r}; expected one of {', '.join(OWNED_KINDS)}", field="kind"
    )


def _project_column(kind: str) -> str:
    """The name a joined source gives its owner's ``project`` column."""
    owner = {
        "run": "experiments",
        "model_version": "registered_models",
        "alias_event": "registered_models",
        "dataset_version": "datasets",
        "step_run": "pipeline_runs",
        "monitor_run": "monitors",
    }[kind]
    return f"{owner}_project"


def project_of(conn: Connection, kind: str, ident: str) -> str:
    """The project owning the ``kind`` record ``ident``; NotFound when there is none."""
    key, query = _owners(kind)
    project = conn.execute(query.where(key == str(ident)).limit(1)).first()
    if project is None:
        label = kind.replace("_", " ")
        if kind in _NAMED_BY_ID:
            raise NotFound(f"no {label} with id {ident!r}", field=_NAMED_BY_ID[kind])
        raise NotFound(f"no {label} named {ident!r}", field=kind)
    return str(project[1])


def projects_of(conn: Connection, nodes: Iterable[LineageNode]) -> dict[LineageNode, str]:
    """The owning project of each node that has one (missing records and kinds with no
    table are left out), in one query per kind and chunk."""
    by_kind: dict[str, list[str]] = {}
    for node in nodes:
        if node.kind in OWNED_KINDS:
            by_kind.setdefault(node.kind, []).append(node.id)
    found: dict[LineageNode, str] = {}
    for kind, ids in by_kind.items():
        key, query = _owners(kind)
        for chunk in chunks(sorted(set(ids)), 200):
            for ident, project in conn.execute(query.where(key.in_(list(chunk)))):
                found[LineageNode(kind, str(ident))] = str(project)
    return found


def blob_referenced(conn: Connection, digest: str, projects: Sequence[str] | None) -> bool:
    """True when a record of one of ``projects`` (None: any project) references the blob:
    a run artifact, a model version file, a dataset version, a monitor's reference or report,
    a step run's outputs, or a run's package set (its :data:`PACKAGE_SET_TAG`, found through
    the partial index of those tags). Indexed look-ups come first; monitors and step outputs
    are searched last."""
    checks: list[Select[Any]] = [
        _referencing(
            RUN_ARTIFACTS.join(RUNS, RUN_ARTIFACTS.c.run_id == RUNS.c.id).join(
                EXPERIMENTS, RUNS.c.experiment_id == EXPERIMENTS.c.id
            ),
            RUN_ARTIFACTS.c.digest == digest,
            EXPERIMENTS.c.project,
            projects,
        ),
        _referencing(
            MODEL_VERSION_FILES.join(
                MODEL_VERSIONS, MODEL_VERSION_FILES.c.version_id == MODEL_VERSIONS.c.id
            ).join(REGISTERED_MODELS, MODEL_VERSIONS.c.model_id == REGISTERED_MODELS.c.id),
            MODEL_VERSION_FILES.c.digest == digest,
            REGISTERED_MODELS.c.project,
            projects,
        ),
        _referencing(
            DATASET_VERSIONS.join(DATASETS, DATASET_VERSIONS.c.dataset == DATASETS.c.name),
            DATASET_VERSIONS.c.digest == digest,
            DATASETS.c.project,
            projects,
        ),
        _referencing(
            RUN_TAGS.join(RUNS, RUN_TAGS.c.run_id == RUNS.c.id).join(
                EXPERIMENTS, RUNS.c.experiment_id == EXPERIMENTS.c.id
            ),
            and_(PACKAGE_SET_ROWS, RUN_TAGS.c.value == digest),  # the partial index's terms
            EXPERIMENTS.c.project,
            projects,
        ),
        _referencing(MONITORS, MONITORS.c.spec.contains(digest), MONITORS.c.project, projects),
        _referencing(
            MONITOR_RUNS.join(MONITORS, MONITOR_RUNS.c.monitor == MONITORS.c.name),
            MONITOR_RUNS.c.result.contains(digest),
            MONITORS.c.project,
            projects,
        ),
        _referencing(
            STEP_RUNS.join(PIPELINE_RUNS, STEP_RUNS.c.pipeline_run_id == PIPELINE_RUNS.c.id),
            STEP_RUNS.c.outputs_json.contains(digest),
            PIPELINE_RUNS.c.project,
            projects,
        ),
    ]
    return any(conn.execute(check).scalar() for check in checks)


def _referencing(source: Any, condition: Any, project: Any, projects: Sequence[str] | None) -> Any:
    """``SELECT EXISTS`` a row of ``source`` meeting ``condition`` in one of ``projects``."""
    query = select(literal(1)).select_from(source).where(condition)
    query = in_projects(query, project, projects)
    return select(exists(query))
