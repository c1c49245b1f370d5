"""Fixtures of the project-lifecycle tests: a project written by `shipyard init` (once per
test module), a tiny trained project in a git repository to reproduce, the `shipyard`
script and other programs run in a clean environment, and the vendored CI schemas."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from shipyard.project import init_project
from shipyard.tracking import Client
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


#: A tiny project's pipeline: a logistic regression on a registered dataset, registered as
#: model ``tiny``. ``SCALE`` is what a test edits without committing.
_TINY = """
import pandas as pd
from sklearn.linear_model import LogisticRegression

from shipyard import data
from shipyard.pipelines import pipeline, step
from shipyard.registry import log_model, register_model
from shipyard.tracking import start_run

SCALE = {scale}


@step
def fit(frame: pd.DataFrame, c: float) -> int:
    features = frame[["x"]] * SCALE
    model = LogisticRegression(C=c).fit(features, frame["y"])
    with start_run(experiment="tiny") as run:
        log_model(model, "model", input_example=features.head(2))
        run.log_metric("train_accuracy", float(model.score(features, frame["y"])))
    return register_model(f"runs:/{{run.id}}/model", "tiny").version


@pipeline(name="tiny")
def tiny(c: float = 0.5) -> None:
    fit(data.ref("tiny-data@latest"), c)
"""


@dataclass
class TinyProject:
    """A git repository (the working directory) holding the ``tiny-project`` distribution
    with ``src/<package>/pipes.py``."""

    root: Path
    package: str

    def write(self, scale: str = "1.0") -> None:
        """Write the pipeline module with ``SCALE = scale`` (not committed)."""
        (self.root / "src" / self.package / "pipes.py").write_text(_TINY.format(scale=scale))

    def module(self) -> ModuleType:
        """The pipeline module as it is on disk now."""
        importlib.invalidate_caches()
        name = f"{self.package}.pipes"
        if name in sys.modules:
            return importlib.reload(sys.modules[name])
        return importlib.import_module(name)

    def train(self) -> None:
        """Run the project's pipeline as the module is on disk now."""
        self.module().tiny.run()


@pytest.fixture
def tiny_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_sdk: Client
) -> Iterator[TinyProject]:
    """A tiny project committed in a git repository, the working directory, importable,
    with its training data registered in the test's store; its package is named after the
    test (modules of one test never serve another)."""
    import pandas as pd

    from shipyard import data

    data.register(
        "tiny-data", pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "y": [0, 0, 0, 1, 1, 1]})
    )
    package = "tiny_" + re.sub(r"\W", "_", tmp_path.name)
    root = tmp_path / "repo"
    (root / "src" / package).mkdir(parents=True)
    (root / "src" / package / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text('[project]\nname = "tiny-project"\nversion = "0.1.0"\n')
    (root / ".gitignore").write_text(".shipyard/\n")
    project = TinyProject(root, package)
    project.write()
    for argv in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "one"],
    ):
        subprocess.run(argv, cwd=root, check=True, capture_output=True)
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root / "src"))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    yield project
    for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
        del sys.modules[name]
