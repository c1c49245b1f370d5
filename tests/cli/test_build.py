"""`shipyard build` writes a context that installs as written: the running Shipyard rides
along as a wheel, so `pip install --no-index --find-links wheels -r requirements.txt` works
offline, given wheels of the other requirements, and the image's entrypoint then serves the
model."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import zipfile
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.serving import installed_wheel
from shipyard.tracking import Client
from tests.support.cli import Cli


@pytest.fixture
def iris_model(sqlite_sdk: Client) -> str:
    """A registered scikit-learn model; its reference."""
    X, y = load_iris(return_X_y=True, as_frame=True)
    with shipyard.start_run(experiment="iris"):
        version = shipyard.register_model(
            LogisticRegression(max_iter=300).fit(X, y), "iris", input_example=X.head()
        )
    return version.ref


def _closure(lines: list[str]) -> set[str]:
    """The installed distributions that the requirement lines need, transitively."""
    todo = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    seen: set[str] = set()
    while todo:
        requirement = todo.pop()
        name = requirement.name.lower().replace("_", "-")
        if name in seen:
            continue
        try:
            dist = distribution(requirement.name)
        except PackageNotFoundError:
            continue  # an optional dependency of another platform or extra
        seen.add(name)
        extras = requirement.extras or {""}
        for text in dist.requires or []:
            needed = Requirement(text)
            if needed.marker is None or any(
                needed.marker.evaluate({"extra": extra}) for extra in extras
            ):
                todo.append(needed)
    return seen


def test_build_bundles_the_running_shipyard_as_a_wheel(
    cli: Cli, iris_model: str, tmp_path: Path
) -> None:
    out = cli.ok("build", iris_model, "-o", str(tmp_path / "ctx"))
    assert "wrote the build context" in out
    [wheel] = (tmp_path / "ctx" / "wheels").glob("shipyard-*.whl")
    assert wheel.name == f"shipyard-{shipyard.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        record = archive.read(f"shipyard-{shipyard.__version__}.dist-info/RECORD").decode()
    assert "shipyard/cli/__init__.py" in names and "shipyard/py.typed" in names
    assert not any("__pycache__" in n for n in names)
    assert "shipyard/serving/_build.py,sha256=" in record
    pinned = (tmp_path / "ctx" / "requirements.txt").read_text().splitlines()
    assert f"shipyard[serving]=={shipyard.__version__}" in pinned


def test_build_with_a_shipyard_wheel_given_bundles_that_one(
    cli: Cli, iris_model: str, tmp_path: Path
) -> None:
    given = installed_wheel("shipyard", tmp_path / "mine")
    cli.ok("build", iris_model, "-o", str(tmp_path / "ctx"), "--wheel", str(given))
    assert [p.name for p in (tmp_path / "ctx" / "wheels").iterdir()] == [given.name]


def test_a_distribution_that_is_not_installed_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(shipyard.errors.NotFound, match="no-such-dist is not installed"):
        installed_wheel("no-such-dist", tmp_path)


@pytest.mark.slow
@pytest.mark.usefixtures("uv_offline_cache")
def test_the_build_context_installs_offline_into_a_fresh_venv_and_its_entrypoint_serves(
    cli: Cli, iris_model: str, tmp_path: Path
) -> None:
    context = tmp_path / "ctx"
    cli.ok("build", iris_model, "-o", str(context))
    requirements = (context / "requirements.txt").read_text().splitlines()
    wheelhouse = tmp_path / "wheelhouse"
    for name in sorted(_closure(requirements) - {"shipyard"}):
        installed_wheel(name, wheelhouse)
    venv = tmp_path / "venv"
    # This environment's pip installs into the new one (--python): the same install, without
    # bootstrapping a pip into the venv first; --no-compile leaves bytecode to first import.
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300
    )
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "-q", "--no-index", "--no-compile", "--disable-pip-version-check",
         "--find-links", str(context / "wheels"), "--find-links", str(wheelhouse),
         "-r", str(context / "requirements.txt")],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    check = subprocess.run(
        [str(venv / "bin" / "shipyard"), "version"], capture_output=True, text=True, timeout=300
    )
    assert check.stdout.strip() == shipyard.__version__, check.stderr
    loads = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import sys, shipyard.models as m; print(m.load(sys.argv[1]).metadata.name)",
         str(context / "model")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert loads.returncode == 0, loads.stderr
    _entrypoint_serves(context, venv, tmp_path)


def _entrypoint_serves(context: Path, venv: Path, folder: Path) -> None:
    """The context's entrypoint (the image's ENTRYPOINT), run with the installed
    environment first on PATH as the image's ``ENV PATH`` puts it, answers
    ``/v2/health/ready``."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(folder), "HOST": "127.0.0.1",
           "PORT": str(port), "WORKERS": "1", "SHIPYARD_HOME": str(folder / "image-home"),
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           **{k: v for k, v in os.environ.items() if k.startswith("PYTHONPYCACHE")}}  # fmt: skip
    log = folder / "entrypoint.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            ["sh", str(context / "entrypoint.sh")], cwd=folder, env=env, stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, f"the entrypoint exited: {log.read_text()[-2000:]}"
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=5)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"never ready: {log.read_text()[-2000:]}"
            time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=60)
