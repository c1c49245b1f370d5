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
- in a fresh interpreter process of this environment, or with ``fresh_env`` in a new
  virtualenv built from the recorded package set (see ``_fresh_env``).

It compares the new model version's manifest hash and metrics with the original's and
explains a difference: uncommitted changes at training time, a different package set (each
package that changed, was added or removed, when the run recorded its set and not only the
set's hash), or a training that is not deterministic; timing metrics are expected to differ
and are listed apart.
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
from shipyard.entities import PACKAGE_SET_TAG, LineageNode, ModelVersion
from shipyard.errors import InvalidArgument, NotFound, ShipyardError
from shipyard.project._fresh_env import build_fresh_env, project_distribution
from shipyard.project._packages import normalized_name, package_changes, parse_pins

_TIMING = ("time", "duration", "latency")
_TOLERANCE = 1e-9
_SHOWN_PACKAGES = 20
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
        packages_match: The package set of the re-run equals the recorded one.
        package_changes: Each package that differs from the recorded set (empty when the
            run recorded only the set's hash).
        environment: Where the re-run ran: ``{"kind": "current"}``, or ``{"kind":
            "fresh", "installed": N, "skipped": {name: why}}``.
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
    package_changes: list[str] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, list[float | None]] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)

    @property
    def reproduced(self) -> bool:
        """Same hash and the same metrics (timings aside)."""
        return self.same_hash and not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "reproduced": self.reproduced}


def reproduce(
    ref: str,
    *,
    repo: str | Path = ".",
    timeout: float = 3600,
    fresh_env: bool = False,
    offline: bool = False,
) -> Reproduction:
    """Re-run the pipeline behind model version ``ref`` (``name/3``, ``name@champion``) at
    its recorded commit, data and params, and compare the result with the original.

    Args:
        ref: The model version.
        repo: The git repository the model was trained from (any folder inside it).
        timeout: Seconds the re-run may take (and, with ``fresh_env``, the install).
        fresh_env: Re-run in a new virtualenv built from the recorded package set.
        offline: With ``fresh_env``, install from uv's cache only.

    Returns:
        The comparison, with every difference explained.

    Raises:
        NotFound: The version, or the pipeline run behind it, is not recorded.
        InvalidArgument: The model was not trained by a pipeline, its commit cannot be
            checked out of ``repo``, or ``fresh_env`` is asked of a run that recorded only
            the hash of its package set.
        ShipyardError: A recorded package cannot be installed (named), or the re-run failed.
    """
    from shipyard.registry import get_model_version
    from shipyard.tracking import get_client, recorded_package_set

    store = get_client().store
    version = get_model_version(ref.removeprefix("model:"))
    found = Reproduction(f"{version.name}/{version.version}")
    found.original_hash = version.manifest_digest
    tags = store.get_run(version.run_id).tags if version.run_id else {}
    found.commit = tags.get("shipyard.git.commit", "")
    digest = tags.get(PACKAGE_SET_TAG, "")
    recorded = recorded_package_set(store, digest) if digest else None
    if fresh_env and recorded is None:
        raise InvalidArgument(
            f"{found.model} was logged by a run that recorded only the hash of its package "
            "set, not the set: a fresh environment cannot be built from it; reproduce "
            "without --fresh-env to run in the current environment",
            field="fresh_env",
        )
    pins = parse_pins(recorded or [])  # a malformed set is refused before anything runs
    pipeline_run, datasets = _record(store, version)
    found.pipeline = {"ref": pipeline_run.ref, "params": pipeline_run.params}
    found.datasets = [d.ref for d in datasets]
    found.environment = {"kind": "current"}
    with tempfile.TemporaryDirectory(prefix="shipyard-reproduce-") as scratch:
        root = Path(scratch)
        source = _checkout(Path(repo), found.commit, root / "source")
        try:
            home = root / "store" / ".shipyard"
            python = sys.executable
            if fresh_env:
                env = build_fresh_env(
                    pins, root / "env", python=tags.get("shipyard.python", ""),
                    skip=[n for n in [project_distribution(source)] if n], offline=offline,
                    timeout=timeout,
                )  # fmt: skip
                python = str(env.python)
                found.environment = {
                    "kind": "fresh", "installed": len(env.installed), "skipped": env.skipped
                }  # fmt: skip
            _copy_datasets(store, datasets, home)
            rebuilt = _rerun(found.pipeline, source, home, timeout, python=python)
            new, used = _new_version(home, version.name, rebuilt)
        finally:
            if found.commit:
                _git(Path(repo), "worktree", "remove", "--force", str(source))
    found.new_hash = new.manifest_digest
    found.same_hash = new.manifest_digest == version.manifest_digest
    _compare_packages(found, digest, recorded, used)
    _compare(found, version, new, tags)
    return found


def _compare_packages(
    found: Reproduction, digest: str, recorded: list[str] | None, used: list[str] | None
) -> None:
    """Whether the re-run's package set is the recorded one, and each package that differs
    (the packages a fresh environment leaves out on purpose aside)."""
    from shipyard.tracking import package_set, packages_hash

    if used is None and found.environment.get("kind") == "current":
        used = list(package_set())  # the re-run recorded none; it ran in this environment
    if recorded is None or used is None:  # only hashes to compare
        found.packages_match = digest == packages_hash()[0]
        return
    skipped = set(found.environment.get("skipped", {}))
    kept = [
        [p for p in packages if normalized_name(p.split("==")[0]) not in skipped]
        for packages in (recorded, used)
    ]
    found.package_changes = package_changes(kept[0], kept[1])
    found.packages_match = not found.package_changes


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


def _rerun(
    pipeline: dict[str, Any], source: Path, home: Path, timeout: float, *, python: str
) -> str:
    """Run the pipeline in a fresh ``python`` process at ``source`` against the scratch
    store; the new pipeline run's id. A fresh environment's interpreter sees only its own
    packages and the source (no PYTHONPATH of this process)."""
    paths = [str(p) for p in (source / "src", source) if p.is_dir()]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    if python != sys.executable:
        env = {k: v for k, v in env.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["SHIPYARD_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    done = subprocess.run(
        [python, "-c", _SCRIPT, json.dumps(pipeline)],
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


def _new_version(home: Path, name: str, pipeline_run: str) -> tuple[ModelVersion, list[str] | None]:
    """The version of model ``name`` the re-run registered in the scratch store, and the
    package set its run recorded (None when it recorded none)."""
    from shipyard.config import load_settings
    from shipyard.tracking import Client, recorded_package_set

    client = Client(load_settings(home=home))
    try:
        try:
            versions = client.store.list_model_versions(name)
        except NotFound:
            versions = []
        if not versions:
            raise NotFound(
                f"the re-run (pipeline run {pipeline_run[:12]}) registered no version of {name!r}",
                field="ref",
            )
        new = max(versions, key=lambda v: v.version)
        tags = client.store.get_run(new.run_id).tags if new.run_id else {}
        digest = tags.get(PACKAGE_SET_TAG, "")
        return new, recorded_package_set(client.store, digest) if digest else None
    finally:
        client.close()


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
    if not found.packages_match and found.package_changes:
        shown = ", ".join(found.package_changes[:_SHOWN_PACKAGES])
        more = len(found.package_changes) - _SHOWN_PACKAGES
        why.append(
            f"the package set differs from the recorded one: {shown}"
            + (f" and {more} more" if more > 0 else "")
        )
    elif not found.packages_match:
        why.append("the package set differs from the recorded one (a changed package)")
    if not why:
        why.append(
            "same commit, data, params and packages: the training is not deterministic "
            "(an estimator without a fixed random_state, or thread-dependent arithmetic)"
        )
    found.differences.append("why: " + "; ".join(why))
    if timings:
        found.differences.append(f"timings differ as expected: {', '.join(timings)}")
