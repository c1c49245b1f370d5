"""``shipyard doctor``: a project's MLOps maturity against a published rubric.

The rubric (docs/maturity.md) is a list of criteria, each a practice that Microsoft's MLOps
maturity model (levels 0-4) expects from a given level and, where it applies, one that
Google's MLOps levels (0-2) require. Each criterion is checked against the evidence: the
repository (git, tests, CI files, pre-commit, data contracts in the code) and the store of
the current project (tracked runs and the commit and clean tree they record, dataset
versions behind the registered models, signatures, gated promotions, pipeline runs and
schedules, monitors with alerts, retraining policies, deployment records, the package set
runs record).

An area's level is the level of its highest criterion met with every criterion below it; the
project's Microsoft level is the highest level up to which every criterion is met, and its
Google level the highest whose required criteria all are. Each area names its next step:
the first criterion it does not meet yet.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.client import Store
from shipyard.entities import LineageNode, ModelVersion, Run

_MAX_MODELS = 50
_MAX_RUNS = 1000


@dataclass
class Evidence:
    """What doctor found in the repository and the store (the facts criteria test)."""

    git: bool = False
    test_files: int = 0
    ci_files: list[str] = field(default_factory=list)
    ci_text: str = ""
    pre_commit: bool = False
    contracts_in_code: bool = False
    runs: int = 0
    runs_with_commit: int = 0
    dataset_versions: int = 0
    models: int = 0
    model_versions: list[ModelVersion] = field(default_factory=list)
    model_runs: dict[str, Run] = field(default_factory=dict)
    versions_with_data: int = 0
    gated_promotions: int = 0
    pipeline_runs: int = 0
    schedules: int = 0
    monitors_with_alerts: int = 0
    retrain_policies: int = 0
    deployments: int = 0


@dataclass(frozen=True)
class Criterion:
    """One practice of the rubric.

    Attributes:
        key: A stable id (``vc.git``), as the JSON report names it.
        area: The area it belongs to.
        level: The Microsoft maturity level (0-4) from which it is expected.
        google: The Google MLOps level (1 or 2) that requires it, or 0.
        practice: What the practice is.
        next_step: The concrete step that meets it.
        met: Whether the evidence shows it.
    """

    key: str
    area: str
    level: int
    google: int
    practice: str
    next_step: str
    met: Callable[[Evidence], bool]


def _clean_models(e: Evidence) -> bool:
    runs = [e.model_runs[v.run_id] for v in e.model_versions if v.run_id in e.model_runs]
    return bool(runs) and all(r.tags.get("shipyard.git.dirty") == "false" for r in runs)


def _recorded_models(e: Evidence) -> bool:
    keys = ("shipyard.git.commit", "shipyard.packages.sha256")
    runs = [e.model_runs.get(v.run_id or "") for v in e.model_versions]
    return bool(runs) and all(r is not None and all(k in r.tags for k in keys) for r in runs)


def _ci_trains(e: Evidence) -> bool:
    return "shipyard pipelines run" in e.ci_text and "promote" in e.ci_text


def _ci_ships(e: Evidence) -> bool:
    return "shipyard build" in e.ci_text or "shipyard deploy" in e.ci_text


#: The rubric: its sources and the reasoning behind each level are in docs/maturity.md.
RUBRIC: tuple[Criterion, ...] = (
    Criterion("vc.git", "version control", 1, 0, "the project is a git repository",
              "git init, then commit the code", lambda e: e.git),
    Criterion("vc.commits", "version control", 2, 1, "tracked runs record their git commit",
              "train inside the git repository, so each run records shipyard.git.commit",
              lambda e: e.runs_with_commit > 0),
    Criterion("vc.clean", "version control", 3, 2,
              "registered models were trained from a clean work tree",
              "commit before training: the run of every registered version must record "
              "shipyard.git.dirty=false", _clean_models),
    Criterion("ci.tests", "tests and CI", 1, 2, "automated tests", "add pytest tests of the "
              "features and the pipeline steps (shipyard init writes some)",
              lambda e: e.test_files > 0),
    Criterion("ci.ci", "tests and CI", 1, 2, "CI runs on every change",
              "add a CI workflow that lints and tests (GitHub Actions or GitLab CI; shipyard "
              "init writes both)", lambda e: bool(e.ci_files)),
    Criterion("ci.precommit", "tests and CI", 2, 0, "pre-commit checks before every commit",
              "add .pre-commit-config.yaml with ruff, secret and large-file checks and "
              "`shipyard check`", lambda e: e.pre_commit),
    Criterion("ci.train", "tests and CI", 3, 2, "CI trains and promotes through the gates",
              "run the training pipeline in CI and promote with gates on the main branch",
              _ci_trains),
    Criterion("ci.ship", "tests and CI", 3, 2, "CI builds the serving image and renders the "
              "deployment", "add `shipyard build` and `shipyard deploy render` jobs on main",
              _ci_ships),
    Criterion("tracking.runs", "experiment tracking", 2, 1, "experiments are tracked runs",
              "log training with shipyard.start_run (params, metrics, model)",
              lambda e: e.runs > 0),
    Criterion("data.versions", "data", 2, 1, "training data is versioned",
              "register the training data with shipyard.data.register",
              lambda e: e.dataset_versions > 0),
    Criterion("data.contracts", "data", 2, 1, "data is validated against a contract",
              "declare a pandera contract on the data (data.register(contract=...) or "
              "@step(contracts=...))", lambda e: e.contracts_in_code),
    Criterion("data.lineage", "data", 3, 1, "every registered model traces to its data",
              "train in a pipeline or run that loads a registered dataset, so lineage links "
              "the model to it", lambda e: bool(e.model_versions)
              and e.versions_with_data == len(e.model_versions)),
    Criterion("registry.models", "model registry", 2, 1, "models are registered",
              "register the trained model (shipyard.registry.register_model)",
              lambda e: e.models > 0),
    Criterion("registry.signatures", "model registry", 2, 1, "registered models have a "
              "signature", "log models with input_example= so they carry a signature",
              lambda e: bool(e.model_versions)
              and all(v.signature for v in e.model_versions)),
    Criterion("registry.gates", "model registry", 3, 1, "promotions pass recorded gates",
              "promote with require=[...] gates (shipyard models promote --require)",
              lambda e: e.gated_promotions > 0),
    Criterion("pipelines.runs", "pipelines", 2, 1, "training is a pipeline",
              "write training as a @pipeline of @steps and run it",
              lambda e: e.pipeline_runs > 0),
    Criterion("pipelines.schedules", "pipelines", 4, 1, "training runs on a schedule",
              "schedule the pipeline (shipyard pipelines schedule) and run the scheduler",
              lambda e: e.schedules > 0),
    Criterion("monitoring.alerts", "monitoring", 3, 1, "deployed models are monitored with "
              "alerts", "add a monitor with alert rules (shipyard monitor create)",
              lambda e: e.monitors_with_alerts > 0),
    Criterion("monitoring.retrain", "monitoring", 4, 1, "alerts trigger retraining",
              "attach a retraining policy to a monitor (shipyard monitor retrain)",
              lambda e: e.retrain_policies > 0),
    Criterion("deploy.records", "deployment", 3, 2, "deployments are recorded",
              "serve with shipyard serve (or the rendered manifests) so deployments are "
              "recorded", lambda e: e.deployments > 0),
    Criterion("repro.record", "reproducibility", 3, 2, "each registered model records its "
              "commit and package set", "train registered models in tracked runs with "
              "capture_environment on (the default)", _recorded_models),
)  # fmt: skip

AREAS = tuple(dict.fromkeys(c.area for c in RUBRIC))


@dataclass(frozen=True)
class AreaScore:
    """An area's level (0-4), what it rests on, and the next step (empty at the top)."""

    area: str
    level: int
    met: list[str]
    missing: list[str]
    next_step: str


@dataclass(frozen=True)
class Assessment:
    """The maturity of a project: per area, and overall on both models."""

    path: str
    microsoft_level: int
    google_level: int
    areas: list[AreaScore]
    criteria: dict[str, bool]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "microsoft_level": self.microsoft_level,
            "google_level": self.google_level,
            "areas": [a.__dict__ for a in self.areas],
            "criteria": self.criteria,
        }


def assess(path: str | Path = ".", store: Store | None = None) -> Assessment:
    """Score the project at ``path`` (its repository) and ``store`` (by default the current
    client's, for its project) against :data:`RUBRIC`. A folder with no store yet is
    scored on its repository alone (no store is created)."""
    from shipyard.config import load_settings
    from shipyard.tracking import configured_client, get_client

    configured = configured_client()
    settings = configured.settings if configured is not None else load_settings()
    evidence = Evidence()
    _read_repository(Path(path), evidence)
    embedded = settings.db_url.startswith(f"sqlite:///{settings.home}")
    exists = settings.tracking_uri or not embedded or settings.home.is_dir()
    if store is not None or exists:
        _read_store(store or get_client().store, settings.project, evidence)
    met = {c.key: bool(c.met(evidence)) for c in RUBRIC}
    areas = [_score_area(area, met) for area in AREAS]
    microsoft = _highest(lambda level: all(met[c.key] for c in RUBRIC if c.level <= level), 4)
    google = _highest(lambda level: all(met[c.key] for c in RUBRIC if 0 < c.google <= level), 2)
    return Assessment(str(Path(path).resolve()), microsoft, google, areas, met)


def _highest(holds: Callable[[int], bool], top: int) -> int:
    level = 0
    while level < top and holds(level + 1):
        level += 1
    return level


def _score_area(area: str, met: dict[str, bool]) -> AreaScore:
    criteria = sorted((c for c in RUBRIC if c.area == area), key=lambda c: c.level)
    missing = [c for c in criteria if not met[c.key]]
    level = 0
    for c in criteria:  # the levels met one after another, from the bottom
        if not met[c.key]:
            break
        level = c.level
    return AreaScore(
        area,
        level,
        [c.practice for c in criteria if met[c.key]],
        [c.practice for c in missing],
        missing[0].next_step if missing else "",
    )


def _read_repository(root: Path, e: Evidence) -> None:
    done = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    e.git = done.returncode == 0 and done.stdout.strip() == "true"
    tests = root / "tests"
    e.test_files = len(list(tests.rglob("test_*.py"))) if tests.is_dir() else 0
    workflows = sorted((root / ".github" / "workflows").glob("*.y*ml"))
    e.ci_files = [str(p.relative_to(root)) for p in workflows]
    if (root / ".gitlab-ci.yml").is_file():
        e.ci_files.append(".gitlab-ci.yml")
    e.ci_text = "\n".join((root / f).read_text(errors="replace") for f in e.ci_files)
    e.pre_commit = (root / ".pre-commit-config.yaml").is_file()
    sources = [p for p in (root / "src", root) if p.is_dir()]
    for folder in sources:
        for file in folder.glob("*.py" if folder == root else "**/*.py"):
            text = file.read_text(errors="replace")
            if "contracts=" in text or "contract=" in text or "data.check(" in text:
                e.contracts_in_code = True
                return


def _read_store(store: Store, project: str, e: Evidence) -> None:
    experiments = [x.id for x in store.list_experiments() if x.project == project]
    runs = store.search_runs(experiments, limit=_MAX_RUNS).runs if experiments else []
    e.runs = len(runs)
    e.runs_with_commit = sum("shipyard.git.commit" in r.tags for r in runs)
    e.dataset_versions = sum(d.version_count for d in store.list_datasets() if d.project == project)
    models = store.list_registered_models(limit=_MAX_MODELS, projects=[project])
    e.models = len(models)
    for model in models:
        versions = store.list_model_versions(model.name)
        if versions:
            e.model_versions.append(max(versions, key=lambda v: v.version))
        events = store.list_alias_events(model.name, limit=100)
        e.gated_promotions += sum(1 for ev in events if ev.gates and ev.outcome == "moved")
    for version in e.model_versions:
        if version.run_id:
            e.model_runs.setdefault(version.run_id, store.get_run(version.run_id))
        edges = store.get_lineage(LineageNode("model_version", version.id), "up")
        if any(edge.src.kind == "dataset_version" for edge in edges):
            e.versions_with_data += 1
    e.pipeline_runs = len(store.list_pipeline_runs(limit=1, projects=[project]))
    e.schedules = len(store.list_schedules(projects=[project]))
    monitors = store.list_monitors(projects=[project])
    e.monitors_with_alerts = sum(1 for m in monitors if m.alerts)
    e.retrain_policies = sum(1 for m in monitors if m.options.get("retrain"))
    e.deployments = len(store.list_deployments(projects=[project], limit=1))
