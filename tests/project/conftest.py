"""Fixtures of the project-lifecycle tests: a project written by `shipyard init` (once per
test module), the `shipyard` script and other programs run in a clean environment, and the
vendored CI schemas."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipyard.project import init_project
from tests.support.warm import WarmPython

SCHEMAS = Path(__file__).parent / "schemas"
Runner = Callable[..., subprocess.CompletedProcess[str]]


def _environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without SHIPYARD_* (a project's own tests pick their store), with
    this interpreter's scripts (shipyard, ruff, pre-commit) first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


@pytest.fixture
def run(warm_python: WarmPython) -> Runner:
    """Run a program (``python`` means this interpreter) in ``cwd``; returns the finished
    process with its output. ``python -m MODULE ...`` runs in a child of the warm
    interpreter (tests/support/warm.py), as the fresh one would run it."""

    def call(
        *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        if args[:2] == ("python", "-m"):
            return warm_python.run(args[1:], cwd=cwd, env=_environment(env), timeout=timeout)
        argv = [sys.executable if args[0] == "python" else args[0], *args[1:]]
        return subprocess.run(
            argv, cwd=cwd, env=_environment(env), capture_output=True, text=True, timeout=timeout
        )

    return call


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project written by ``shipyard init`` as ``churn-model`` (shared by a module's
    tests: treat it as read-only, copy it to change it)."""
    folder = tmp_path_factory.mktemp("init") / "churn-model"
    init_project(folder)
    return folder


class _Yaml12Loader(yaml.SafeLoader):
    """YAML as CI systems read it (1.2): only true/false are booleans, so the ``on:`` key
    of a GitHub workflow stays the text ``on`` (PyYAML's 1.1 makes it True)."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@pytest.fixture(scope="session")
def read_yaml() -> Callable[[Path], Any]:
    """Read a YAML file as a YAML 1.2 reader (GitHub, GitLab) does."""

    def read(path: Path) -> Any:
        return yaml.load(path.read_text(), Loader=_Yaml12Loader)

    return read


@pytest.fixture(scope="session")
def ci_schema() -> Callable[[str], Any]:
    """The vendored JSON schema of a CI system (``github-workflows``, ``gitlab-ci``)."""

    def load(name: str) -> Any:
        return json.loads((SCHEMAS / f"{name}.json").read_text())

    return load
