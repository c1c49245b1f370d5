"""``shipyard reproduce``: rebuild a registered model from its record and compare.

From the model version it follows the record: the tracked run that logged the model (its git
commit, clean-tree flag and package-set hash), and through lineage the pipeline run that
produced it (its ``module:function`` and params) and the dataset versions that run read.
Then it re-runs that pipeline:

- at the recorded commit, in a clean ``git worktree`` of the repository (detached, removed
  afterwards), with that worktree (and its ``src/``) first on the import path;
- with the recorded dataset versions, copied into a scratch store (so ``name@latest`` there is
  exactly the recorded version) and the recorded params; the original store is never
  written, so no alias moves;
- in a fresh interpreter process of this environment when its package set matches the
  recorded one (the sha256 of every ``name==version``); otherwise it still runs there and
  says that the package set differs.

It compares the new model version's manifest hash and metrics with the original's and
explains a difference: uncommitted changes at training time, a different package set, or a
training that is not deterministic; timing metrics are expected to differ and are listed
apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.client import Store
from shipyard.entities import LineageNode, ModelVersion
from shipyard.errors import InvalidArgument, NotFound, ShipyardError

_TIMING = ("time", "duration", "latency")
_TOLERANCE = 1e-9
_SCRIPT = """
import json, sys
from shipyard.pipelines import load_pipeline
spec = json.loads(sys.argv[1])
result = load_pipeline(spec["ref"]).run(**spec["params"], raise_on_failure=False)
print(json.dumps({"ok": result.ok, "run": result.id, "error": result.run.error}))
"""


@dataclass
class Reproduction:
    """What ``reproduce`` rebuilt and how it compares.

    Attributes:
        model: The original version (``name/3``).
        same_hash: The rebuilt model's manifest hash equals the original's.
        original_hash: The original's manifest hash.
        new_hash: The rebuilt model's manifest hash ("" when the run failed).
        commit: The commit the pipeline ran at ("" when none was recorded).
        pipeline: The pipeline's ``module:function`` and params.
        datasets: The dataset versions it read.
        packages_match: The package set equals the recorded one.
        metrics: Each metric of both versions: ``{name: [original, new]}``.
        differences: Each difference, explained.
    """

    model: str
    same_hash: bool = False
    original_hash: str = ""
    new_hash: str = ""
    commit: str = ""
    pipeline: dict[str, Any] = field(default_factory=dict)
    datasets: list[str] = field(default_factory=list)
    packages_match: bool = False
    metrics: dict[str, list[float | None]] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)

    @property
    def reproduced(self) -> bool:
        """Same hash and the same metrics (timings aside)."""
        return self.same_hash and not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "reproduced": self.reproduced}


def reproduce(ref: str, *, repo: str | Path = ".", timeout: float = 3600) -> Reproduction:
    """Re-run the pipeline behind model version ``ref`` (``name/3``, ``name@champion``) at
    its recorded commit, data and params, and compare the result with the original.

    Args:
        ref: The model version.
        repo: The git repository the model was trained from (any folder inside it).
        timeout: Seconds the re-run may take.

    Returns:
        The comparison, with every difference explained.

    Raises:
        NotFound: The version, or the pipeline run behind it, is not recorded.
        InvalidArgument: The model was not trained by a pipeline, or its commit cannot be
            checked out of ``repo``.
    """
    from shipyard.registry import get_model_version
    from shipyard.tracking import get_client, packages_hash

    store = get_client().store
    version = get_model_version(ref.removeprefix("model:"))
    found = Reproduction(f"{version.name}/{version.version}")
    found.original_hash = version.manifest_digest
    tags = store.get_run(version.run_id).tags if version.run_id else {}
    found.commit = tags.get("shipyard.git.commit", "")
    found.packages_match = tags.get("shipyard.packages.sha256") == packages_hash()[0]
    pipeline_run, datasets = _record(store, version)
    found.pipeline = {"ref": pipeline_run.ref, "params": pipeline_run.params}
    found.datasets = [d.ref for d in datasets]
    with tempfile.TemporaryDirectory(prefix="shipyard-reproduce-") as scratch:
        root = Path(scratch)
        source = _checkout(Path(repo), found.commit, root / "source")
        try:
            home = root / "store" / ".shipyard"
            _copy_datasets(store, datasets, home)
            rebuilt = _rerun(found.pipeline, source, home, timeout)
            new = _new_version(home, version.name, rebuilt)
        finally:
            if found.commit:
                _git(Path(repo), "worktree", "remove", "--force", str(source))
    found.new_hash = new.manifest_digest
    found.same_hash = new.manifest_digest == version.manifest_digest
    _compare(found, version, new, tags)
    return found


def _record(store: Store, version: ModelVersion) -> tuple[Any, list[Any]]:
    """The pipeline run behind ``version`` and the dataset versions it read."""
    edges = store.get_lineage(LineageNode("model_version", version.id), "up")
    runs = {e.src.id for e in edges if e.src.kind == "pipeline_run"}
    if not runs:
        raise InvalidArgument(
            f"{version.name}/{version.version} was not trained by a pipeline (no pipeline run "
            "in its lineage); only pipeline-trained models can be reproduced",
            field="ref",
        )
    pipeline_run = store.get_pipeline_run(sorted(runs)[0])
    ids: dict[str, None] = {}
    for step in store.list_step_runs(pipeline_run.id):
        for spec in step.inputs.values():
            for item in spec if isinstance(spec, list) else [spec]:
                if (
                    isinstance(item, dict)
                    and item.get("dataset_version_id")
                    and not item.get("from")
                ):
                    ids[item["dataset_version_id"]] = None
    return pipeline_run, [store.get_dataset_version_by_id(i) for i in ids]


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=120, check=False
    )


def _checkout(repo: Path, commit: str, target: Path) -> Path:
    """A clean detached worktree of ``repo`` at ``commit`` (``repo`` itself when no commit
    was recorded)."""
    if not commit:
        return repo.resolve()
    done = _git(repo, "worktree", "add", "--detach", str(target), commit)
    if done.returncode != 0:
        raise InvalidArgument(
            f"cannot check out the recorded commit {commit[:12]} from {repo}: "
            f"{done.stderr.strip().splitlines()[-1:] or ['not a git repository']}; run "
            "reproduce inside the repository the model was trained from (--repo)",
            field="repo",
        )
    return target


def _copy_datasets(store: Store, datasets: list[Any], home: Path) -> None:
    """Register each recorded dataset version in a scratch store as its only version."""
    from shipyard.config import load_settings
    from shipyard.data import read_file, register
    from shipyard.tracking import Client

    scratch = Client(load_settings(home=home))
    try:
        for version in datasets:
            table = read_file(store.fetch_blob(version.content_hash), "arrow")
            register(version.dataset, table, store=scratch.store, lineage=False)
    finally:
        scratch.close()


def _rerun(pipeline: dict[str, Any], source: Path, home: Path, timeout: float) -> str:
    """Run the pipeline in a fresh interpreter at ``source`` against the scratch store;
    the new pipeline run's id."""
    paths = [str(p) for p in (source / "src", source) if p.is_dir()]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["SHIPYARD_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(pipeline)],
        cwd=source, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        result = {}
    if done.returncode != 0 or not result.get("ok"):
        detail = result.get("error") or (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ShipyardError(f"the re-run of {pipeline['ref']} failed: {detail}")
    return str(result["run"])


def _new_version(home: Path, name: str, pipeline_run: str) -> ModelVersion:
    """The version of model ``name`` the re-run registered in the scratch store."""
    from shipyard.config import load_settings
    from shipyard.tracking import Client

    client = Client(load_settings(home=home))
    try:
        versions = client.store.list_model_versions(name)
    except NotFound:
        versions = []
    finally:
        client.close()
    if not versions:
        raise NotFound(
            f"the re-run (pipeline run {pipeline_run[:12]}) registered no version of {name!r}",
            field="ref",
        )
    return max(versions, key=lambda v: v.version)


def _compare(
    found: Reproduction, old: ModelVersion, new: ModelVersion, tags: dict[str, str]
) -> None:
    """Fill in the metrics side by side and explain every difference."""
    timings = []
    for key in sorted(set(old.metrics) | set(new.metrics)):
        a, b = old.metrics.get(key), new.metrics.get(key)
        found.metrics[key] = [a, b]
        if a is not None and b is not None and abs(a - b) <= _TOLERANCE:
            continue
        if any(word in key for word in _TIMING):
            timings.append(key)
            continue
        found.differences.append(f"metric {key}: {a} -> {b}")
    if not found.same_hash:
        found.differences.insert(0, "the model's manifest hash differs")
    if found.reproduced:
        return
    why = []
    if tags.get("shipyard.git.dirty") == "true":
        why.append("the original was trained with uncommitted changes, which the commit lacks")
    if not found.commit:
        why.append("no commit was recorded, so the current tree was used")
    if not found.packages_match:
        why.append("the package set differs from the recorded one (a changed package)")
    if not why:
        why.append(
            "same commit, data, params and packages: the training is not deterministic "
            "(an estimator without a fixed random_state, or thread-dependent arithmetic)"
        )
    found.differences.append("why: " + "; ".join(why))
    if timings:
        found.differences.append(f"timings differ as expected: {', '.join(timings)}")
