"""The images: the Shipyard image (server, scheduler, model servers) and a model's image
from `shipyard build`. Multi-stage, pinned, non-root, probed and labelled; clean under
hadolint and checkov; and the build stage's install steps, replayed offline in a fresh
virtual environment, give an environment in which the declared entrypoint starts and
answers its health probes (no container engine needed)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.deploy import StackSettings, dockerfile
from shipyard.serving import build

ROOT = Path(__file__).resolve().parents[2]


def test_the_image_is_multi_stage_and_pinned_from_the_lock_file():
    text = dockerfile(StackSettings())
    assert len(re.findall(r"^FROM ", text, re.M)) == 2
    assert "uv export --frozen --no-dev" in text and "COPY --from=build /opt/venv" in text
    assert "--require-hashes --no-deps -r requirements.txt" in text and "pip check" in text
    for extra in ("postgres", "s3", "redis", "serving"):
        assert f"--extra {extra}" in text


def test_the_image_runs_as_a_user_and_probes_healthz():
    text = dockerfile(StackSettings(server_port=9090))
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert "http://127.0.0.1:9090/healthz" in text
    assert 'org.opencontainers.image.version="$VERSION"' in text
    assert 'org.opencontainers.image.revision="$COMMIT"' in text
    assert "$$" not in text and not re.search(r"\$\{[a-z_]+\}", text)  # all substituted


def test_hadolint_finds_nothing_in_the_shipyard_image(tmp_path, hadolint):
    (tmp_path / "Dockerfile").write_text(dockerfile(StackSettings()))
    assert hadolint(tmp_path / "Dockerfile") == []


@pytest.mark.slow
def test_checkov_finds_no_policy_failure(tmp_path, checkov):
    (tmp_path / "Dockerfile").write_text(dockerfile(StackSettings()))
    report = checkov(tmp_path, "dockerfile")
    assert report["failed"] == [] and report["passed"] > 20


def test_a_model_image_is_multi_stage_non_root_labelled_and_probed(
    churn_versions: str, tmp_path: Path, hadolint: Any
) -> None:
    from importlib.metadata import version

    context = build("churn@champion", tmp_path / "ctx")
    text = (context / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM python:3\.\d+-slim", text, re.M)) == 2
    assert "pip install --no-deps --find-links ./wheels -r requirements.txt" in text
    assert "pip check" in text
    assert "COPY --from=build /opt/venv /opt/venv" in text
    assert re.search(r"^USER 10001:10001$", text, re.M)
    labels = dict(re.findall(r'(org\.opencontainers\.image\.\w+|io\.shipyard\.[\w.-]+)="([^"]*)"',
                             text))  # fmt: skip
    assert labels["org.opencontainers.image.title"] == "churn"
    assert labels["org.opencontainers.image.version"] == "1"
    assert labels["org.opencontainers.image.revision"] == "$COMMIT"
    assert labels["io.shipyard.version"] == version("shipyard")
    about = json.loads((context / "serving.json").read_text())
    assert labels["io.shipyard.model.manifest-digest"] == about["manifest_digest"]
    assert re.search(r"^ARG COMMIT=\S+$", text, re.M)
    assert "/v2/health/ready" in text.split("HEALTHCHECK", 1)[1]
    assert hadolint(context / "Dockerfile") == []


def test_a_model_context_pins_every_package_it_installs(churn_versions: str, tmp_path: Path):
    from importlib.metadata import version

    context = build("churn@champion", tmp_path / "ctx")
    lines = [
        line for line in (context / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]  # fmt: skip
    pins = dict(line.split("==", 1) for line in lines)
    assert len(pins) == len(lines)  # every line is pinned
    assert pins["shipyard[serving]"] == version("shipyard")
    assert pins["scikit-learn"] == version("scikit-learn")
    # what they need is pinned too: scikit-learn's and the model server's dependencies
    for needed in ("numpy", "scipy", "joblib", "fastapi", "uvicorn", "uvloop", "httptools"):
        assert pins[needed] == version(needed), needed


@pytest.mark.slow
def test_the_shipyard_image_installs_offline_and_its_entrypoint_starts(
    tmp_path: Path,
    uv: str,
    processes: list[Any],
    start_declared: Any,
    free_port: Callable[[], int],
) -> None:
    """The build stage's steps replayed with uv from its cache: the lock exported as the
    Dockerfile exports it, installed with hashes and without resolving, then the project;
    the image's ENTRYPOINT and CMD then serve /healthz and /readyz. Must run in CI."""
    port = free_port()
    text = dockerfile(StackSettings(server_port=port))
    (export,) = re.findall(r"RUN (uv export [^\\]+?) -o requirements\.txt", text)
    requirements = tmp_path / "requirements.txt"
    subprocess.run([uv, *shlex.split(export)[1:], "-o", str(requirements)], cwd=ROOT,
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    for args in (["--require-hashes", "--no-deps", "-r", str(requirements)],
                 ["--no-deps", str(ROOT)]):  # fmt: skip
        done = subprocess.run([uv, "pip", "install", "-q", "--offline", "-p", python, *args],
                              capture_output=True, text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr
    check = subprocess.run([uv, "pip", "check", "-p", python], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    log = tmp_path / "server.log"
    # with authentication on, as the stack's ConfigMap and compose file set it: an admin and
    # a token first, made with the installed command line
    home = {"SHIPYARD_HOME": str(tmp_path / "home"), "PATH": str(venv / "bin")}
    for command in (["users", "create", "admin", "--role", "admin", "--project", "*"],
                    ["tokens", "create", "--user", "admin"]):  # fmt: skip
        done = subprocess.run([str(venv / "bin" / "shipyard"), *command], env=home,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    process = start_declared(text, venv, tmp_path / "home", log, tmp_path, processes,
                             SHIPYARD_SERVER_AUTH="1")  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        assert process.poll() is None, f"the server exited: {log.read_text()[-2000:]}"
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"never ready: {log.read_text()[-2000:]}"
        time.sleep(0.5)
    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
    assert json.loads(httpx.get(f"{base}/readyz", timeout=5).text)


def test_a_bad_requirement_is_refused_naming_the_field() -> None:
    from shipyard.errors import InvalidArgument
    from shipyard.serving._build import pinned_closure

    with pytest.raises(InvalidArgument, match="not valid") as caught:
        pinned_closure(["scikit-learn==1.5.0", "not a requirement!"], "3.11")
    assert caught.value.field == "requirements"


def test_the_closure_follows_extras_and_keeps_what_is_not_installed_unpinned() -> None:
    from importlib.metadata import version

    from shipyard.serving._build import pinned_closure

    lines = pinned_closure(["uvicorn[standard]", "httpx[http2]"], "3.11")
    pins = dict(line.split("==", 1) for line in lines if "==" in line)
    assert {"uvicorn[standard]", "httpx[http2]"} <= set(lines)  # given lines kept as written
    assert pins["uvloop"] == version("uvloop")  # needed only through uvicorn's extra
    assert pins["httpcore"] == version("httpcore")
    assert "h2<5,>=3" in lines  # http2's h2 is not installed here: left for pip to resolve
    assert lines == sorted(lines)
