"""Starting a model server: a reference that cannot be served is a clear error and exit 1
(never a server answering 503 forever), and a model that disappears later keeps its loaded
version answering, reported on /readyz and in the metrics."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import shipyard
from shipyard.tracking import Client


def test_a_typo_in_the_model_name_exits_1_naming_the_near_one(
    served_model: Any, serve_command: Any
) -> None:
    done = serve_command("chrun@champion", "--port", "0")
    assert done.returncode == 1, done.stderr
    assert "no registered model named 'chrun'" in done.stderr
    assert "did you mean 'churn'?" in done.stderr and "Traceback" not in done.stderr
    alias = serve_command("churn@champoin", "--port", "0")
    assert alias.returncode == 1 and "did you mean 'champion'?" in alias.stderr


@pytest.mark.parametrize("workers", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_a_model_that_cannot_load_exits_1_with_the_reason(
    served_model: Any, serve_command: Any, sqlite_sdk: Client, workers: int
) -> None:
    settings = sqlite_sdk.settings
    shutil.rmtree(settings.home / "cache", ignore_errors=True)
    for blob in Path(settings.artifacts_uri).rglob("*"):
        if blob.is_file():
            blob.write_bytes(b"not the model")
    done = serve_command("churn@champion", "--port", "0", "--workers", str(workers))
    assert done.returncode == 1, done.stderr
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert "cannot serve 'churn@champion'" in error and "sha256" in error


def test_a_reference_that_disappears_keeps_the_loaded_version_serving(
    served_model: Any, start: Any
) -> None:
    X, _ = served_model
    rows = X.head(2).to_dict(orient="records")
    with start(poll_seconds=0.1) as server, httpx.Client(base_url=server.url) as http:
        shipyard.models.delete_alias("churn", "champion")
        status = _wait_for(http, lambda body: not body["tracks"][0]["resolves"])
        assert status["ready"] and status["tracks"][0]["version"] == 1
        assert "no alias 'champion'" in status["tracks"][0]["problem"]
        assert http.post("/predict", json=rows).json()["version"] == 1  # still answering
        metrics = http.get("/metrics").text
        assert (
            'shipyard_serving_reference_ok{alias="champion",model="churn",role="primary"} 0.0'
            in metrics
        )
        assert "shipyard_serving_refresh_errors_total" in metrics
        shipyard.set_alias("churn", "champion", 1)
        back = _wait_for(http, lambda body: body["tracks"][0]["resolves"])
        assert back["tracks"][0]["problem"] is None
        assert (
            'reference_ok{alias="champion",model="churn",role="primary"} 1.0'
            in http.get("/metrics").text
        )


def _wait_for(http: httpx.Client, done: Any, timeout: float = 60) -> dict[str, Any]:
    """The /readyz body once ``done(body)`` holds (the server polls the registry)."""
    deadline = time.monotonic() + timeout
    while True:
        body = http.get("/readyz").json()
        if done(body) or time.monotonic() > deadline:
            return dict(body)
        time.sleep(0.05)


def test_reading_the_log_or_starting_a_worker_imports_only_what_it_uses() -> None:
    """Monitoring reads the prediction log without the web stack; a server worker imports
    the app without the command line, the batch scorer or the build contexts."""
    probe = (
        "import sys\n"
        "from shipyard.serving import read_predictions\n"
        "print('fastapi' in sys.modules)\n"
        "import shipyard.serving._app\n"
        "print(sorted(m for m in ('shipyard.cli', 'shipyard.serving._batch', "
        "'shipyard.serving._build', 'shipyard.serving._background') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.split("\n")[:2] == ["False", "[]"], done.stdout
