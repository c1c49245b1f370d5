"""Fixtures of the MLflow compatibility tests: MLflow's own client, in a virtualenv of its
own, driving a live Shipyard server.

MLflow is never installed in the project's environment: ``mlflow_python`` builds (once per
machine, under ``~/.cache/shipyard-tests``, or ``SHIPYARD_TEST_CACHE``) a virtualenv with the
pinned MLflow and the project's own scikit-learn, so a model pickled on one side loads on the
other. Each scenario is one script in ``scenarios/`` run once in that virtualenv; it prints
one JSON line with what the test checks.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.client import LocalStore
from shipyard.config import Settings
from shipyard.server._state import Backend
from tests.support.server import LiveServer

MLFLOW_VERSION = "3.17.2"
SCENARIOS = Path(__file__).parent / "scenarios"
RESULT = "@@RESULT@@ "
_LEAKY = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT")


def _requirements() -> list[str]:
    import numpy
    import pandas
    import sklearn

    return [
        f"mlflow=={MLFLOW_VERSION}",
        f"scikit-learn=={sklearn.__version__}",
        f"pandas=={pandas.__version__}",
        f"numpy=={numpy.__version__}",
    ]


def _cache_root() -> Path:
    root = os.environ.get("SHIPYARD_TEST_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "shipyard-tests"


def _build_venv() -> Path:
    """The MLflow virtualenv's interpreter, built on first use (one build at a time)."""
    pins = _requirements()
    tag = hashlib.sha256(json.dumps([sys.version, pins]).encode()).hexdigest()[:12]
    venv = _cache_root() / f"mlflow-{MLFLOW_VERSION}-{tag}"
    python = venv / "bin" / "python"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / "ready").exists():
            return python
        uv = shutil.which("uv")
        if uv is None:
            raise RuntimeError("`uv` is not on PATH; it builds the MLflow test virtualenv")
        shutil.rmtree(venv, ignore_errors=True)
        base = getattr(sys, "_base_executable", None) or sys.executable
        env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
        for cmd in (
            [uv, "venv", "-q", "--python", str(Path(base).resolve()), str(venv)],
            [uv, "pip", "install", "-q", "--python", str(python), *pins],
        ):
            done = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
        (venv / "ready").write_text("\n".join(pins))
    return python


@pytest.fixture(scope="session")
def mlflow_python() -> Path:
    """The interpreter of the MLflow virtualenv (skips when it cannot be built, unless
    SHIPYARD_REQUIRE_SERVICES=1, as CI sets, which fails instead)."""
    try:
        return _build_venv()
    except (RuntimeError, OSError) as exc:
        if os.environ.get("SHIPYARD_REQUIRE_SERVICES") == "1":
            raise
        pytest.skip(f"no MLflow virtualenv: {exc}")


RunScenario = Callable[..., dict[str, Any]]


def _run(
    python: Path,
    cwd: Path,
    scenario: str,
    url: str,
    token: str | None,
    config: dict[str, Any],
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
    env.update(extra_env or {})
    env.update(MLFLOW_TRACKING_URI=url, PYTHONUNBUFFERED="1", OPENBLAS_NUM_THREADS="1")
    env.pop("MLFLOW_TRACKING_TOKEN", None)
    if token is not None:
        env["MLFLOW_TRACKING_TOKEN"] = token
    env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"  # an error is an answer, not a retry
    done = subprocess.run(
        [str(python), str(SCENARIOS / f"{scenario}.py"), json.dumps(config)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=900,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    if done.returncode != 0 or not lines:
        output = f"{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
        raise AssertionError(f"{scenario} exited {done.returncode}:\n{output}")
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT) :])
    return result


@pytest.fixture
def run_scenario(mlflow_python: Path, tmp_path: Path) -> RunScenario:
    """Run ``scenarios/<scenario>.py`` in the MLflow virtualenv against ``url``; its JSON
    result. ``token`` becomes ``MLFLOW_TRACKING_TOKEN``; ``config`` is passed as JSON."""

    def run(scenario: str, url: str, token: str | None = None, **config: Any) -> dict[str, Any]:
        return _run(mlflow_python, tmp_path, scenario, url, token, config)

    return run


@pytest.fixture(scope="module")
def mlflow_store(mlflow_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An MLflow SQLite tracking database filled by MLflow itself (``make_store``), once per
    module: ``db`` is its path, ``artifacts`` its artifact root, ``made`` what was logged."""
    root = tmp_path_factory.mktemp("mlflow-store")
    db, artifacts = root / "mlflow.db", root / "artifacts"
    config = {"uri": f"sqlite:///{db}", "artifacts": str(artifacts)}
    made = _run(mlflow_python, root, "make_store", "", None, config)
    return {"db": db, "artifacts": artifacts, "made": made}


@pytest.fixture(scope="module")
def mlflow_file_store(
    mlflow_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """An MLflow file store (``mlruns`` folder) filled by MLflow itself (``make_store``),
    once per module: ``root`` is the folder, ``made`` what was logged."""
    base = tmp_path_factory.mktemp("mlflow-files")
    root = base / "mlruns"
    config = {"uri": root.as_uri(), "artifacts": str(base / "artifacts")}
    allow = {"MLFLOW_ALLOW_FILE_STORE": "true"}  # MLflow 3 keeps the file store on request
    made = _run(mlflow_python, base, "make_store", "", None, config, allow)
    return {"root": root, "made": made}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def unused_port() -> int:
    """A local TCP port nothing listens on."""
    return _free_port()


@contextlib.contextmanager
def mlflow_server(python: Path, home: Path) -> Iterator[str]:
    """``mlflow server`` (SQLite, artifacts proxied) from the MLflow virtualenv on a free
    port; yields its URL once it answers, stops it after."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
    cmd = [
        str(python), "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--backend-store-uri", f"sqlite:///{home / 'mlflow.db'}",
        "--artifacts-destination", str(home / "mlartifacts"),
    ]  # fmt: skip
    log = (home / "server.log").open("wb")
    process = subprocess.Popen(cmd, cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600  # a loaded machine starts MLflow slowly
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mlflow server exited:\n{(home / 'server.log').read_text()}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"mlflow server did not start:\n{(home / 'server.log').read_text()}"
                )
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def mlflow_tracking_server(
    mlflow_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A live ``mlflow server`` filled by MLflow's client (``make_store``), once per module:
    ``url`` is where it answers, ``made`` what was logged. Stopped after the module."""
    home = tmp_path_factory.mktemp("mlflow-server")
    with mlflow_server(mlflow_python, home) as url:
        config = {"uri": url, "artifacts": None}
        made = _run(mlflow_python, home, "make_store", url, None, config)
        yield {"url": url, "made": made}


@pytest.fixture
def served(live_server: LiveServer, settings: Settings) -> Iterator[LocalStore]:
    """The live server answering from a fresh store on each database (no authentication);
    yields that store, for checking through Shipyard what MLflow's client did."""
    store = LocalStore(settings)
    backend: Backend = live_server.serve(store)
    yield store
    backend.close()


@pytest.fixture
def served_with_auth(live_server: LiveServer, sqlite_settings: Settings) -> Iterator[LocalStore]:
    """The live server with authentication on, answering from a fresh SQLite store."""
    store = LocalStore(sqlite_settings)
    backend: Backend = live_server.serve(store, auth=True)
    yield store
    backend.close()


@pytest.fixture
def served_sqlite(
    live_server: LiveServer, sqlite_settings: Settings, sqlite_sdk: object
) -> Iterator[LocalStore]:
    """The live server answering from a fresh SQLite store (no authentication) that
    Shipyard's SDK (``shipyard.models.load``, ...) reads too; yields that store."""
    store = LocalStore(sqlite_settings)
    backend: Backend = live_server.serve(store)
    yield store
    backend.close()
