"""The `shipyard` script finds the project's own modules without ``PYTHONPATH`` (issue 13,
defect 4): on-demand functions recorded as ``features:spend_per_click`` import back when a
command runs in the project folder (or below the folder holding ``shipyard.toml``)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

FEATURES_PY = """
from datetime import timedelta

import pandas as pd

from shipyard import features as fs

user = fs.Entity("user", join_keys=["user_id"])
user_stats = fs.FeatureView(
    "user_stats",
    entities=[user],
    source=fs.FileSource("user_stats.parquet"),
    schema=[fs.Field("clicks", "int64"), fs.Field("spend", "float64")],
    ttl=timedelta(days=7),
)


@fs.on_demand_feature_view(sources=[user_stats], schema=[fs.Field("spend_per_click", "float64")])
def spend_per_click(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"spend_per_click": frame["spend"] / (frame["clicks"] + 1)})


churn_model = fs.FeatureService("churn_model", [user_stats, spend_per_click])
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A feature project: features.py and its source, events of the last hour."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "features.py").write_text(FEATURES_PY)
    stamp = pd.Timestamp(datetime.now(UTC) - timedelta(hours=1))
    events = {"user_id": [3, 7], "event_timestamp": [stamp] * 2, "clicks": [4, 9]}
    pd.DataFrame({**events, "spend": [10.0, 5.0]}).to_parquet(folder / "user_stats.parquet")
    return folder


def shipyard(cwd: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `shipyard` script, run as a user would: no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(SHIPYARD_HOME=str(home), COLUMNS="200")
    script = Path(sys.executable).with_name("shipyard")
    return subprocess.run(
        [str(script), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_features_get_imports_the_on_demand_function_from_the_project_folder(
    project: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    for args in (("features", "apply"), ("features", "materialize")):
        done = shipyard(project, home, *args)
        assert done.returncode == 0, done.stderr
    got = shipyard(project, home, "features", "get", "-e", "user_id=3", "--service", "churn_model")
    assert got.returncode == 0, got.stderr
    assert "cannot import" not in got.stderr
    row = next(line for line in got.stdout.splitlines() if "spend_per_click" in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells[1:3] == ["2", "PRESENT"]  # 10.0 / (4 + 1)


def test_a_subfolder_of_a_project_with_shipyard_toml_finds_the_same_modules(
    project: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (project / "shipyard.toml").write_text(f'home = "{home}"\n')
    notebooks = project / "notebooks"
    notebooks.mkdir()
    assert shipyard(project, home, "features", "apply").returncode == 0
    assert shipyard(project, home, "features", "materialize").returncode == 0
    got = shipyard(notebooks, home, "features", "get", "-e", "user_id=7", "-s", "churn_model")
    assert got.returncode == 0, got.stderr
    row = next(line for line in got.stdout.splitlines() if "spend_per_click" in line)
    assert "0.5" in row  # 5.0 / (9 + 1)


def test_an_entity_without_a_value_names_the_option(project: Path, tmp_path: Path) -> None:
    got = shipyard(project, tmp_path / "home", "features", "get", "-e", "user_id", "-s", "x")
    assert got.returncode == 1
    assert "--entity 'user_id' must look like key=value" in got.stderr
    assert "Traceback" not in got.stderr
