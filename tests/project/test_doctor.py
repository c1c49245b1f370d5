"""`shipyard doctor`: a bare repository and a project from `shipyard init` that was trained
and promoted from a clean commit score differently, and each says why and what comes next."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.project import RUBRIC, assess, init_project
from shipyard.tracking import Client

from .conftest import Runner


def _git(project: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)


def test_a_bare_repository_is_level_0_and_is_told_to_start_with_tests(
    tmp_path: Path, run: Runner
) -> None:
    _git(tmp_path, "init", "-q")
    found = assess(tmp_path)
    assert (found.microsoft_level, found.google_level) == (0, 0)
    areas = {a.area: a for a in found.areas}
    assert areas["version control"].level == 1
    assert areas["version control"].met == ["the project is a git repository"]
    assert areas["tests and CI"].level == 0
    assert areas["tests and CI"].next_step.startswith("add pytest tests")
    assert not (tmp_path / ".shipyard").exists()  # doctor created no store
    done = run("python", "-m", "shipyard", "doctor", "--json", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["criteria"]["ci.tests"] is False


def test_every_criterion_has_a_level_an_area_and_a_next_step() -> None:
    assert len({c.key for c in RUBRIC}) == len(RUBRIC)
    for criterion in RUBRIC:
        assert 1 <= criterion.level <= 4 and 0 <= criterion.google <= 2
        assert criterion.next_step and criterion.practice


@pytest.mark.slow
def test_a_trained_project_scores_higher_and_says_why(
    tmp_path: Path, sqlite_sdk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "doctor-demo"
    init_project(project)
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "start")
    monkeypatch.chdir(project)  # runs record this repository's commit
    monkeypatch.syspath_prepend(str(project / "src"))
    sample = importlib.import_module("doctor_demo.sample")
    pipelines = importlib.import_module("doctor_demo.pipelines")
    try:
        sample.register_sample(300)
        assert pipelines.training.run(promote=True).output("register")["outcome"] == "moved"
    finally:
        for name in [m for m in sys.modules if m.startswith("doctor_demo")]:
            del sys.modules[name]
    found = assess(project)
    areas = {a.area: a for a in found.areas}
    assert found.microsoft_level == 2  # tracked, versioned, registered, in pipelines, in CI
    assert found.google_level == 0  # no schedule, no monitor: training is not continuous
    assert areas["version control"].level == 3  # the model's run recorded a clean tree
    assert areas["tests and CI"].level == 3
    assert areas["model registry"].met == [
        "models are registered",
        "registered models have a signature",
        "promotions pass recorded gates",
    ]
    assert areas["data"].level == 3 and areas["reproducibility"].level == 3
    assert areas["pipelines"].next_step.startswith("schedule the pipeline")
    assert areas["monitoring"].level == 0
    assert areas["monitoring"].next_step.startswith("add a monitor with alert rules")
    bare = assess(tmp_path)  # the folder above: no repository
    assert bare.microsoft_level == 0 and not bare.criteria["vc.git"]
