"""Batch scoring, build contexts and the serving commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from typer.testing import CliRunner

import shipyard
from shipyard.cli import app
from shipyard.errors import Conflict, NotFound, SchemaError
from shipyard.serving import build, predict_file

ROOT = Path(__file__).resolve().parents[2]


def test_predict_file_streams_chunks(served_model: Any, tmp_path: Path) -> None:
    X, _ = served_model
    X.to_parquet(tmp_path / "in.parquet")
    seen: list[tuple[int, int]] = []
    rows = predict_file(
        "churn@champion",
        tmp_path / "in.parquet",
        tmp_path / "out.parquet",
        chunk_rows=100,
        progress=lambda done, total: seen.append((done, total)),
    )
    out = pd.read_parquet(tmp_path / "out.parquet")
    expected = shipyard.models.load("churn@champion").predict(X)
    assert rows == len(X) == len(out) and (out["prediction"].to_numpy() == expected).all()
    assert seen[0] == (100, len(X)) and seen[-1] == (len(X), len(X)) and len(seen) == 6
    X.drop(columns=["mean radius"]).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(SchemaError, match="mean radius"):
        predict_file("churn@champion", tmp_path / "bad.parquet", tmp_path / "bad-out.parquet")
    assert not (tmp_path / "bad-out.parquet").exists()  # nothing half-written
    with pytest.raises(NotFound):
        predict_file("churn@champion", tmp_path / "nope.parquet", tmp_path / "x.parquet")


def test_cli_predict_and_build(served_model: Any, tmp_path: Path) -> None:
    X, _ = served_model
    X.head(50).to_parquet(tmp_path / "in.parquet")
    runner = CliRunner()
    done = runner.invoke(
        app,
        [
            "predict",
            "churn@champion",
            "-i",
            str(tmp_path / "in.parquet"),
            "-o",
            str(tmp_path / "o.parquet"),
        ],
    )
    assert done.exit_code == 0, done.output
    assert "scored 50 rows" in done.output
    built = runner.invoke(app, ["build", "churn@champion", "-o", str(tmp_path / "ctx")])
    assert built.exit_code == 0, built.output
    again = runner.invoke(app, ["build", "churn@champion", "-o", str(tmp_path / "ctx")])
    assert again.exit_code == 1 and "error:" in again.output and "not empty" in again.output
    missing = runner.invoke(app, ["serve", "churn@champion", "--mode", "sideways"])
    assert missing.exit_code == 1 and "mode" in missing.output


def test_build_context_is_complete(served_model: Any, tmp_path: Path) -> None:
    folder = build("churn@champion", tmp_path / "ctx", workers=2)
    names = {p.name for p in folder.iterdir()}
    assert {
        "Dockerfile",
        "requirements.txt",
        "model",
        "entrypoint.sh",
        "serving.json",
        "wheels",
    } <= names
    about = json.loads((folder / "serving.json").read_text())
    assert about["name"] == "churn" and about["version"] == 1
    version = shipyard.models.get_version("churn@champion")
    files = {
        str(p.relative_to(folder / "model")) for p in (folder / "model").rglob("*") if p.is_file()
    }
    assert files == {f.path for f in version.files}
    requirements = (folder / "requirements.txt").read_text().splitlines()
    assert any(r.startswith("scikit-learn==") for r in requirements)
    assert any(r.startswith("shipyard[serving]==") for r in requirements)
    docker = (folder / "Dockerfile").read_text()
    assert "requirements.txt" in docker and "ENTRYPOINT" in docker and "OMP_NUM_THREADS=1" in docker
    assert os.access(folder / "entrypoint.sh", os.X_OK)
    assert "--workers" in (folder / "entrypoint.sh").read_text()
    with pytest.raises(Conflict):
        build("churn@champion", folder)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_build_context_serves_from_a_fresh_virtualenv(
    cancer: Any, register: Any, sqlite_sdk: Any, tmp_path: Path, uv_offline_cache: str
) -> None:
    """The context installs into a new virtualenv offline (the local wheel, and every pinned
    requirement from uv's cache, as the image's build stage installs them) and its entrypoint,
    the image's ENTRYPOINT, serves the bundled model. Must run in CI."""
    uv = uv_offline_cache
    register()
    wheels = tmp_path / "dist"
    subprocess.run(
        [uv, "build", "--offline", "--wheel", "-o", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(wheels.glob("shipyard-*.whl"))
    folder = build("churn@champion", tmp_path / "ctx", wheels=[wheel])
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "-p", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "-q", "--offline", "--no-deps", "-p", str(python),
         "--find-links", str(folder / "wheels"), "-r", str(folder / "requirements.txt")],
        check=True,
        capture_output=True,
    )  # fmt: skip
    subprocess.run([uv, "pip", "check", "-q", "-p", str(python)], check=True)  # nothing missing
    port = _free_port()
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "HOST": "127.0.0.1",
           "PORT": str(port), "SHIPYARD_HOME": str(tmp_path / "served-home")}  # fmt: skip
    process = subprocess.Popen([str(folder / "entrypoint.sh"), "--no-log"], env=env)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, "the server exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server never became ready"
            time.sleep(0.2)
        X, _ = cancer()
        answer = httpx.post(
            f"http://127.0.0.1:{port}/predict", json=X.head(2).to_dict(orient="records")
        )
        assert answer.status_code == 200 and answer.json()["model"] == "churn"
    finally:
        process.terminate()
        process.wait(30)
