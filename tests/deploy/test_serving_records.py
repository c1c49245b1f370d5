"""A model server records its deployment: at start (the version its alias resolves to, the
rollout, the address), each alias swap and challenger change, and its stop; `shipyard
deployments list` shows it, and `shipyard serve` marks it stopped when it exits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import shipyard
from shipyard.cli import app
from shipyard.entities import Deployment, DeploymentEventKind, DeploymentStatus, RolloutMode
from shipyard.serving import ServingConfig, find_prediction
from shipyard.serving._background import BackgroundServer
from shipyard.tracking import Client


def _until(found: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """``found()`` once it is truthy; fails naming ``what`` when it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def _only(client: Client, model: str) -> Deployment:
    (found,) = client.store.list_deployments(model=model)
    return found


def test_a_server_records_its_start_swaps_canary_and_stop(
    sqlite_sdk: Client, churn_versions: str
) -> None:
    config = ServingConfig(
        poll_seconds=0.2, challenger="challenger", mode="canary", canary_share=0.2
    )
    with BackgroundServer(f"{churn_versions}@champion", config).start() as server:
        started = _until(lambda: sqlite_sdk.store.list_deployments(), "the start is recorded")
        (record,) = started
        assert (record.model, record.reference, record.version) == ("churn", "churn@champion", 1)
        assert (record.mode, record.challenger, record.challenger_version) == (
            RolloutMode.CANARY,
            "challenger",
            2,
        )
        assert record.traffic_share == 0.2 and record.address == server.url
        shipyard.set_alias("churn", "champion", 2)  # an alias swap
        _until(lambda: _only(sqlite_sdk, "churn").version == 2, "the swap is recorded")
        _until(lambda: server.state.service.primary.current.version == 2, "the server swaps")
        answer = httpx.post(f"{server.url}/predict", json=[{"a": 4.0, "b": 1.0}], timeout=30)
        assert answer.status_code == 200, answer.text
    stopped = _only(sqlite_sdk, "churn")
    assert stopped.status is DeploymentStatus.STOPPED and stopped.stopped_at > 0
    events = sqlite_sdk.store.list_deployment_events(stopped.id)
    assert [(e.kind, e.version) for e in events] == [
        (DeploymentEventKind.STARTED, 1),
        (DeploymentEventKind.SWAPPED, 2),
        (DeploymentEventKind.STOPPED, 2),
    ]
    up = sqlite_sdk.store.get_lineage(shipyard.lineage.resolve(f"deployment:{stopped.id}"), "up")
    versions = {sqlite_sdk.store.get_model_version_by_id(e.src.id).version for e in up}
    assert versions == {1, 2}
    # prediction -> deployment -> model version
    pid = answer.json()["prediction_id"]
    found = find_prediction(pid)
    assert (found["deployment"], found["model"]) == (stopped.id, "churn")
    assert found["version"] == 2 and found["role"] in ("primary", "canary")
    walked = CliRunner().invoke(app, ["lineage", f"prediction:{pid}", "--up"])
    assert walked.exit_code == 0, walked.output
    assert f"answered by churn/{found['version']}" in walked.output
    assert "churn@champion" in walked.output and "churn/1" in walked.output
    unknown = CliRunner().invoke(app, ["lineage", "prediction:nope", "--up"])
    assert unknown.exit_code == 1 and "no prediction 'nope'" in unknown.output


def test_a_server_that_cannot_record_still_serves(
    sqlite_sdk: Client, churn_versions: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: Any) -> None:
        raise ConnectionError("the store is away")

    monkeypatch.setattr(type(sqlite_sdk.store), "put_deployment", refuse)
    with BackgroundServer("churn@champion", ServingConfig(poll_seconds=0)).start() as server:
        answer = httpx.post(f"{server.url}/predict", json=[{"a": 4.0, "b": 1.0}], timeout=30)
        assert answer.status_code == 200, answer.text
        assert server.state.deployment.problem == "the store is away"
    monkeypatch.undo()
    assert sqlite_sdk.store.list_deployments() == []


def test_shipyard_serve_is_listed_while_it_runs_and_stopped_after(
    sqlite_sdk: Client, churn_versions: str, tmp_path: Path
) -> None:
    env = {**os.environ, "SHIPYARD_HOME": str(sqlite_sdk.settings.home)}
    command = Path(sys.executable).with_name("shipyard")
    server = subprocess.Popen(
        [str(command), "serve", "churn@champion", "--port", "0", "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        runner = CliRunner()

        def listed() -> list[dict[str, Any]]:
            shown = runner.invoke(app, ["deployments", "list", "--format", "json"], env=env)
            assert shown.exit_code == 0, shown.output
            return [d for d in json.loads(shown.output) if d["state"] == "running"]

        (row,) = _until(listed, "`shipyard serve` is listed as running", timeout=180)
        assert row["model"] == "churn" and row["version"] == 1
        assert row["address"].startswith("http://127.0.0.1:")
        assert httpx.get(f"{row['address']}/v2/health/ready", timeout=10).status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)
    (stopped,) = sqlite_sdk.store.list_deployments()
    assert stopped.status is DeploymentStatus.STOPPED
    listed = CliRunner().invoke(app, ["deployments", "list", "--format", "csv"], env=env)
    header, row = listed.output.splitlines()
    shown = dict(zip(header.split(","), row.split(","), strict=True))
    assert (shown["state"], shown["reference"], shown["id"]) == (
        "stopped",
        "churn@champion",
        stopped.id,
    )
    history = CliRunner().invoke(
        app, ["deployments", "history", stopped.id, "--format", "csv"], env=env
    )
    assert history.exit_code == 0
    assert [line.split(",")[1] for line in history.output.splitlines()[1:]] == [
        "started",
        "stopped",
    ]
