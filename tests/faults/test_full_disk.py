"""A full disk: logging, artifact upload and model registration in a child process whose files
cannot grow past 1 MB (``RLIMIT_FSIZE``: each write past it fails with EFBIG, as a full disk
fails with ENOSPC; this works for any user, where mounting a small tmpfs needs root).

Each fails with a ServiceUnavailable that says there is no room, and leaves no partial blob,
no temporary file and no record that points at nothing: ``shipyard fsck`` finds no problem.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from shipyard.artifacts import BlobStore
from shipyard.client import LocalStore
from shipyard.config import Settings, load_settings
from shipyard.errors import NotFound
from shipyard.maintenance import fsck
from shipyard.store import dispose_engines
from shipyard.tracking import Client

LIMIT = 1_000_000
WRITER = Path(__file__).with_name("disk_writer.py")


@pytest.fixture(scope="module")
def full_disk(tmp_path_factory: pytest.TempPathFactory, run_capped: Any) -> dict[str, Any]:
    """``disk_writer.py`` run once, capped at :data:`LIMIT`, on a fresh migrated SQLite home
    with its own temp folder: the settings, the writer's temp folder and its report."""
    root = tmp_path_factory.mktemp("full-disk")
    settings = load_settings(home=root / ".shipyard")
    assert LocalStore(settings).engine is not None  # migrated before the limit applies
    dispose_engines()  # the child opens its own connections
    (root / "payload.bin").write_bytes(os.urandom(2 * LIMIT))
    (root / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(SHIPYARD_HOME=str(settings.home), TMPDIR=str(root / "tmp"))
    outcome = run_capped(WRITER, LIMIT, env, str(2 * LIMIT))
    assert outcome.returncode == 0, outcome.stderr[-3000:]
    assert "Traceback" not in outcome.stderr, outcome.stderr[-3000:]
    report = json.loads(outcome.stdout.strip().splitlines()[-1])
    return {"settings": settings, "tmp": root / "tmp", **report}


def _nothing_left_over(settings: Settings, tmp: Path) -> None:
    """No problem for fsck, no temporary blob, nothing in the writer's temp folder."""
    report = fsck(settings)
    assert report.ok, report.problems
    _blobs, temps = BlobStore(settings.artifacts_uri).scan()
    assert temps == []
    assert list(tmp.iterdir()) == []


def test_artifact_upload_on_a_full_disk(full_disk: dict[str, Any]) -> None:
    report, settings = full_disk["artifact"], full_disk["settings"]
    (error,) = report["errors"]
    assert error["type"] == "ServiceUnavailable"
    assert "no room left" in error["message"] and "File too large" in error["message"]
    assert Client(settings).store.list_artifacts(report["run_id"]) == []
    _nothing_left_over(settings, full_disk["tmp"])


def test_model_registration_on_a_full_disk(full_disk: dict[str, Any]) -> None:
    (error,) = full_disk["model"]["errors"]
    assert error["type"] == "ServiceUnavailable"
    assert "no room left on the disk while saving the model" in error["message"]
    client = Client(full_disk["settings"])
    with pytest.raises(NotFound):
        client.store.get_registered_model("wide")
    _nothing_left_over(full_disk["settings"], full_disk["tmp"])


def test_metric_logging_on_a_full_disk(full_disk: dict[str, Any]) -> None:
    report = full_disk["metrics"]
    failures = [*report["errors"], *([report["end_error"]] if "end_error" in report else [])]
    assert failures, report  # the database could not grow: the calls said so
    for error in failures:
        assert error["type"] == "ServiceUnavailable"
        assert "metadata database" in error["message"] and "disk space" in error["message"]
    client = Client(full_disk["settings"])
    steps = sorted(p.step for p in client.get_metric_history(report["run_id"], "loss"))
    assert steps == list(range(len(steps)))  # what was stored is whole: no gap, no duplicate
    if client.get_run(report["run_id"]).status == "FINISHED":  # never FINISHED with a loss
        assert len(steps) == report["logged"], report
    _nothing_left_over(full_disk["settings"], full_disk["tmp"])
