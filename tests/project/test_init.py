"""`shipyard init` as a team starts with it: the project it writes passes its own tests,
its pre-commit hooks run (the local ones here, offline; the others' config is validated),
its GitHub Actions and GitLab CI workflows validate against the published schemas, and
`shipyard check` catches a pipeline that no longer loads."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from shipyard.errors import AlreadyExists, InvalidArgument
from shipyard.project import ProjectNames, check_project, init_project

from .conftest import Runner

EXPECTED = {
    ".github/workflows/ci.yml",
    ".gitignore",
    ".gitlab-ci.yml",
    ".pre-commit-config.yaml",
    "README.md",
    "pyproject.toml",
    "src/churn_model/__init__.py",
    "src/churn_model/features.py",
    "src/churn_model/pipelines.py",
    "src/churn_model/sample.py",
    "tests/conftest.py",
    "tests/test_features.py",
    "tests/test_pipeline.py",
}


def test_init_writes_the_project_with_its_names(generated: Path) -> None:
    files = {str(p.relative_to(generated)) for p in generated.rglob("*") if p.is_file()}
    assert files == EXPECTED
    pipelines = (generated / "src/churn_model/pipelines.py").read_text()
    assert 'MODEL = "churn-model"' in pipelines and "%%" not in pipelines
    assert '@pipeline(name="churn-model-training")' in pipelines
    workflow = (generated / ".github/workflows/ci.yml").read_text()
    assert "${{ secrets.SHIPYARD_TRACKING_URI }}" in workflow  # CI syntax passes through


def test_init_refuses_a_folder_in_use_and_bad_names(tmp_path: Path) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with pytest.raises(AlreadyExists, match="not empty"):
        init_project(tmp_path / "used")
    assert (tmp_path / "used" / "notes.txt").read_text() == "mine"  # nothing touched
    for bad in ("Churn", "churn_model", "-churn", "churn--model", "1churn", "a" * 65, "class"):
        with pytest.raises(InvalidArgument) as caught:
            ProjectNames.of(bad)
        assert caught.value.field == "name"
    assert not (tmp_path / "Bad").exists()
    with pytest.raises(InvalidArgument):
        init_project(tmp_path / "Bad")
    assert init_project(tmp_path / "empty", name="x-y")  # an empty folder is fine


@pytest.mark.parametrize(
    ("name", "path"),
    [("github-workflows", ".github/workflows/ci.yml"), ("gitlab-ci", ".gitlab-ci.yml")],
)
def test_workflows_validate_against_the_published_schemas(
    generated: Path,
    ci_schema: Callable[[str], Any],
    read_yaml: Callable[[Path], Any],
    name: str,
    path: str,
) -> None:
    schema = ci_schema(name)
    workflow = read_yaml(generated / path)
    jsonschema.validate(workflow, schema, cls=jsonschema.Draft7Validator)
    # the schema has teeth: a misspelt key in a job is refused
    broken = copy.deepcopy(workflow)
    job = broken["jobs"]["lint"] if "jobs" in broken else broken["lint"]
    job["scirpt" if "script" in job else "runs_on"] = job.pop("script", "ubuntu-latest")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft7Validator)


def test_workflows_run_every_stage_and_gate_main(
    generated: Path, read_yaml: Callable[[Path], Any]
) -> None:
    github = read_yaml(generated / ".github/workflows/ci.yml")
    assert list(github["jobs"]) == ["lint", "test", "train", "promote", "image", "deploy"]
    assert "refs/heads/main" in github["jobs"]["promote"]["if"]
    steps = " ".join(str(s) for job in github["jobs"].values() for s in job["steps"])
    stages = ("pre-commit run", "pytest", "pipelines run", "promote=true", "--dry-run")
    release = ("shipyard build", "docker/build-push-action", "shipyard deploy render")
    for command in (*stages, *release):
        assert command in steps
    gitlab = read_yaml(generated / ".gitlab-ci.yml")
    assert gitlab["stages"] == ["lint", "test", "train", "promote", "image", "deploy"]
    on_main = [job for job, spec in gitlab.items() if spec and "extends" in spec]
    assert on_main == ["promote", "build-context", "push-image", "render"]


def test_check_loads_features_and_pipelines_and_names_what_breaks(
    tmp_path: Path, run: Runner
) -> None:
    project = tmp_path / "check-me"
    init_project(project)
    report = check_project(project)
    assert report.ok
    assert [(f.kind, f.ok) for f in report.findings] == [("features", True), ("pipeline", True)]
    assert report.findings[1].detail == (
        "5 steps: prepare -> split -> train -> evaluate -> register"
    )
    done = run("python", "-m", "shipyard", "check", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    pipelines = project / "src/check_me/pipelines.py"
    # a misspelt argument of another length: Python trusts a cached .pyc when the source's
    # size and mtime (in whole seconds) match, and the run above may be under a second old
    pipelines.write_text(
        pipelines.read_text().replace("split(frame, test_size", "split(frame, test_sizes")
    )
    done = run("python", "-m", "shipyard", "check", "--json", cwd=project)
    assert done.returncode == 1
    failed = [f for f in json.loads(done.stdout)["findings"] if not f["ok"]]
    assert [f["target"] for f in failed] == ["check_me.pipelines:training"]
    assert failed[0]["detail"] == "step 'split': missing a required argument: 'test_size'"


@pytest.mark.slow
def test_the_generated_project_passes_its_own_tests(generated: Path, run: Runner) -> None:
    done = run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=generated)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "5 passed" in done.stdout


@pytest.mark.slow
def test_pre_commit_hooks_run_offline_and_the_config_is_valid(
    generated: Path, tmp_path: Path, run: Runner
) -> None:
    project = tmp_path / "hooked"
    shutil.copytree(generated, project)
    env = {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit"), "SKIP": "mypy"}
    for argv in (("git", "init", "-q"), ("git", "add", "-A")):
        subprocess.run(argv, cwd=project, check=True)
    done = run("python", "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml",
               cwd=project, env=env)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    # the hooks that need no download: the project's own ruff and shipyard check
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    local = [repo for repo in config["repos"] if repo["repo"] == "local"]
    assert {h["id"] for h in local[0]["hooks"]} == {"ruff", "ruff-format", "mypy", "shipyard-check"}
    (tmp_path / "local-hooks.yaml").write_text(yaml.safe_dump({"repos": local}))
    hooks = ("python", "-m", "pre_commit", "run", "--all-files", "--config",
             str(tmp_path / "local-hooks.yaml"))  # fmt: skip
    done = run(*hooks, cwd=project, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    for hook in ("ruff check", "ruff format", "shipyard check"):
        assert f"{hook}" in done.stdout and "Passed" in done.stdout
    # a pipeline that no longer builds is stopped by the Shipyard hook
    pipelines = project / "src/churn_model/pipelines.py"
    pipelines.write_text(pipelines.read_text().replace("C=C)", "c=C)"))
    done = run(*hooks, cwd=project, env=env)
    assert done.returncode == 1
    assert "shipyard check" in done.stdout and "Failed" in done.stdout
